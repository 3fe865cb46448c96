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

# Help with logging in
help-title = Help with logging in
help-body = With one login account you log in to your library's website, to the e-books and to the library's other online services. Your username is usually your library card number, unless you changed it yourself. Note: capital and small letters are different. Forgot your password or username? You can request them here yourself. Still stuck? Ask the staff at your library: they can send a new confirmation mail, but they cannot set your password for you.
help-more = More help with logging in
help-back-to-login = To the login page

# Forgot password or username
forgot-password-title = Forgot your password
forgot-password-intro = Enter your username. We will send a mail with a link to choose a new password. The link works for { $minutes } minutes.
forgot-username-title = Forgot your username
forgot-username-intro = Enter the e-mail address of your login account. We will send a mail with every username that belongs to that address.
forgot-email = E-mail address
forgot-submit = Send
forgot-username-missing = Enter your username.
forgot-email-invalid = Enter a valid e-mail address, for example name@example.com.
check-mail-title = Check your mail
check-mail-password = If this username exists and has an e-mail address, we have sent a mail with a link to choose a new password. The link works for { $minutes } minutes.
check-mail-username = If login accounts belong to this e-mail address, we have sent a mail with their usernames.
check-mail-spam = No mail? Look in your junk (spam) folder too.

# Choose a new password
set-password-title = Set your password
set-password-intro = To protect your account well, you need a strong password.
set-password-for = Username: { $username }
set-password-new = New password
set-password-repeat = Repeat new password
set-password-submit = Confirm
rule-min-length = use at least 8 characters
rule-upper-case = use at least 1 capital letter (ABC...)
rule-lower-case = use at least 1 small letter (abc...)
rule-digit = use at least 1 digit (12345...)
rule-special = use at least 1 special character (for example !@#%&*)
rule-same = passwords are the same
rule-met = met
rule-unmet = not met yet
password-rules-unmet = Your password does not meet all the rules below yet.
password-not-same = The two passwords are not the same.
password-too-long = This password is too long. Use at most 1024 characters.
password-contains-name = Do not use your username or library card number in your password.
password-too-common = This password is too easy to guess. Make it longer or less predictable, for example with a few unrelated words.
password-changed-title = Your password has been changed
password-changed-body = You can now log in with your new password. For your safety you have been logged out everywhere you were still logged in.
link-expired-title = This link no longer works
link-expired-body = This link has been used already or has expired. Ask for a new mail below.
link-expired-new-mail = Send a new mail

# My login account
account-title = My login account
account-new-username = New username
account-username-hint = 4 to 80 characters: letters, digits and _ - @ . Capital and small letters are different.
account-change-username = Change username
account-no-email = There is no e-mail address for this account.
account-memberships = My libraries
account-no-memberships = No memberships are linked to this account yet.
account-card-number = Card number
account-valid-until = Valid until
account-logout = Log out
username-invalid = This username is not possible. Use 4 to 80 characters: letters, digits and _ - @ .
username-same = This is your username already.
username-taken = This username is in use already. Choose another one.
username-changed = Your username has been changed. From now on, log in with your new username.

# Confirming a new login account
confirm-expired-body = The link in your confirmation mail has expired. Ask for a new mail; its link works for another week.
confirm-used-body = This link has been used already: your login account is confirmed. Log in with your username and password. Forgot your password? Choose "Forgot your password?" on the login page.
confirm-resent-body = We have sent a new confirmation mail. No mail? Look in your junk (spam) folder too.
account-password = Password
account-current-password = Current password
account-change-password = Change password
account-new-email = New e-mail address
account-change-email = Change e-mail address
account-email-hint = We send a mail to the new address. Only when you click the link in that mail do we use the new address. Until then the old address stays your recovery address.
password-current-wrong = Your current password is not correct.
password-changed-here = Your password has been changed. You have been logged out on other devices and websites.
email-same = This is your e-mail address already.
email-verify-sent = We have sent a mail to { $email }. Click the link in that mail to start using the new address.
email-changed-title = Your e-mail address has been changed
email-changed-body = Your new e-mail address is now your recovery address: mails about your login account go there from now on.
account-to-account = To my login account
