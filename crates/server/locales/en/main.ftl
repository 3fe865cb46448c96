# General
service-name = Single Identity
language-switch = Nederlands
help-link = Help with logging in

# Error pages
error-not-found-title = Page not found
error-not-found-body = This page does not exist (any more). Check the address or go back to the previous page.
error-internal-title = Something went wrong
error-internal-body = Something went wrong on our side. Please try again in a few minutes. If it keeps happening, contact your library.
error-bad-request-title = This request is not right
error-bad-request-body = The data in this request could not be read. Go back and try again.
error-method-title = This is not possible here
error-method-body = This page cannot be used this way.
error-reference = Error reference

# Logging in
login-title = Log in
login-username = Username
login-password = Password
login-submit = Log in
login-forgot-password = Forgot your password?
login-forgot-username = Forgot your username?
login-failed = The username or password is not correct. Note: capital and small letters are different.
login-throttled = A wrong password was entered too often. Try again in { $minutes } { $minutes ->
        [one] minute
       *[other] minutes
    }.
login-expired-form = This form had expired. Please enter your details again.

# Errors when another website sends you to log in
authorize-error-title = Logging in does not work this way
authorize-error-body = The website that sent you here did not pass valid details. Go back to that website and try again.

# Logging out
logout-title = See you next time
logout-done = You have been logged out.
logout-close = You can close this browser window.
logout-back-to-login = Back to the login page
