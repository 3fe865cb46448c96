# General
service-name = Single Identity
skip-to-content = Skip to content
language-switch = Nederlands
help-link = Help with logging in

# Error pages
error-not-found-title = Page not found
error-not-found-body = This page does not exist (any more). Check the address or go back to the previous page.
error-unavailable-title = Temporarily unavailable
error-unavailable-body = The service is temporarily unavailable. Please try again in a minute.
error-internal-title = Something went wrong
error-internal-body = Something went wrong on our side. Please try again in a few minutes. If it keeps happening, contact your library.
error-bad-request-title = This request is not right
error-bad-request-body = The data in this request could not be read. Go back and try again.
error-too-large-title = This request is too large
error-too-large-body = This request holds more data than our forms ever send, so it was not read. Go back and try again.
error-host = An HTTP/1.1 request needs exactly one Host header.
error-method-title = This is not possible here
error-method-body = This page cannot be used this way.
error-reference = Error reference

# Logging in
login-title = Log in
login-username = Username
login-password = Password
login-continue-to = Log in to continue to { $website }.
login-submit = Log in
login-forgot-password = Forgot your password?
login-forgot-username = Forgot your username?
login-failed = The username or password is not correct. Note: capital and small letters are different.
# Before a page's title when a form on it was refused.
title-refused = Error:
login-fields-empty = Enter your username and your password.
login-session-ended = You have been logged out meanwhile, for example because you were not active for a while. Log in again. What you had just filled in was not saved.
login-busy = It is very busy right now. Please try again in a few seconds.
login-throttled = A wrong password was entered too often. Try again in { $minutes } { $minutes ->
        [one] minute
       *[other] minutes
    }.
login-throttled-in-flight = Logging in with this username is being tried many times at once just now. Please try again in a few seconds.
login-throttled-address = Too many logins are being tried from this network just now. Try again in { $minutes } { $minutes ->
        [one] minute
       *[other] minutes
    }.
forgot-throttled-address = Too many recovery mails have been asked for from this network just now. Try again in { $minutes } { $minutes ->
        [one] minute
       *[other] minutes
    }.
login-expired-form = This form had expired. Please enter your details again.

# Errors when another website sends you to log in
authorize-error-title = Logging in could not start
authorize-error-body = The website that sent you here did not pass valid details. Go back to that website and try again.
logout-error-title = Logging out could not start
logout-error-body = The website that sent you here passed details that are not right. You have not been logged out. To log out, choose Log out on your account page.
carry-on-title = One moment
carry-on-body = You are going on to the website that sent you here.
carry-on-button = Continue

# Logging out
logout-title = See you next time
logout-done = You have been logged out.
logout-close = You can close this browser window.
logout-back-to-login = Back to the login page
logout-confirm-title = Log out?
logout-confirm-body = Do you want to log out? You will be logged out of every service of the Library where you logged in with this account.
logout-confirm-stay = No, stay logged in

# Help with logging in
help-title = Help with logging in
help-body = With one login account you log in to your library's website, to the e-books and to the library's other online services. Your username is usually your library card number, unless you changed it yourself. Note: capital and small letters are different. Forgot your password or username? You can choose a new password or look up your username here yourself. Still stuck? Ask the staff at your library: they can send a new confirmation mail, but they cannot set your password for you.
help-more = More help with logging in
help-back = Back to the previous page
help-back-to-login = To the login page

# Forgot password or username
forgot-password-title = Forgot your password?
forgot-password-intro = Enter your username. Note: capital and small letters are different. We will send a mail with a link to choose a new password. The link works for { $minutes ->
        [one] 1 minute
       *[other] { $minutes } minutes
    }.
forgot-username-title = Forgot your username?
forgot-username-intro = Enter the e-mail address of your login account. We will send a mail with every username that belongs to that address.
forgot-email = E-mail address
forgot-submit = Send
forgot-username-missing = Enter your username.
forgot-email-invalid = Enter a valid e-mail address, for example name@example.com.
check-mail-title = Check your mail
check-mail-password = If this username exists and has an e-mail address, we have sent a mail with a link to choose a new password. The link works for { $minutes ->
        [one] 1 minute
       *[other] { $minutes } minutes
    }.
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
rule-hard-to-guess = not easy to guess
rule-same = passwords are the same
rule-met = met
rule-unmet = not met yet
password-advice = Do not put your username or card number in it either. A few unrelated words, with the characters above, work well.
password-rules-unmet = Your password does not meet these rules yet:
password-not-same = The two passwords are not the same. Type your new password again, in both fields.
password-too-long = This password is too long. Use at most 1024 characters, fewer with accented letters or emoji.
password-untypable-character = This password holds a character you cannot type, such as a tab, a line break or an invisible character from copying and pasting. Use letters, digits, spaces and punctuation.
password-contains-name = Do not use your username or library card number in your password.
password-too-common = This password is too easy to guess. Make it longer or less predictable, for example with a few unrelated words.
password-check-unreadable = This password cannot be checked.
password-check-busy = It is too busy to check this password now. Try again in a moment.
password-changed-title = Your password has been changed
password-changed-body = You can now log in with your new password. For your safety you have been logged out everywhere you were still logged in.
link-expired-title = This link no longer works
link-expired-body = This link has already been used or has expired. Ask for a new mail below.
link-expired-new-mail = Send a new mail

# My login account
account-title = My login account
account-new-username = New username
account-username-hint = 4 to 80 characters: letters without accents (a–z, A–Z), digits and _ - @ . Capital and small letters are different.
account-change-username = Change username
account-no-email = There is no e-mail address for this account.
account-memberships = My libraries
account-no-memberships = No memberships are linked to this account yet.
account-card-number = Card number
account-valid-until = Valid through
account-logout = Log out
username-invalid = This username can't be used. Use 4 to 80 characters: letters without accents (a–z, A–Z), digits and _ - @ .
username-same = This is already your username.
username-empty = Enter a new username.
username-taken = This username is already in use. Choose another one.
username-changed = Your username has been changed. From now on, log in with your new username.
username-changed-meanwhile = Your username was changed a moment ago, in another window or tab. Below is what it is now; to choose another one, try again.
username-too-many-held = You have changed your username several times lately: your old usernames are still held for you. You can change it again in { $days ->
        [one] 1 day
       *[other] { $days } days
    }, or take back one of your old usernames now: { $held }.

# Confirming a new login account
confirm-expired-body = The link in your confirmation mail has expired. Ask for a new mail below, with a new link.
link-account-disabled-body = This login account is switched off, so this link does not work. Ask the staff at your library for help.
link-unknown-title = This link is not valid
confirm-unknown-body = We do not recognise this link. Perhaps only part of it was copied: open the link again from the mail. Still not working? Ask the staff at your library for a new confirmation mail.
reset-unknown-body = We do not recognise this link. Perhaps only part of it was copied: open the link again from the mail, or ask for a new mail below.
confirm-used-body = This link has already been used: your login account is confirmed. Log in with your username and password. Forgot your password? Choose "Forgot your password?" on the login page.
confirm-superseded-body = A newer confirmation mail has been sent: use the link in the newest mail. No mail? Look in your spam folder too, or ask the staff at your library for a new confirmation mail.
confirm-resent-body = We have sent a new confirmation mail. No mail? Look in your junk (spam) folder too.
account-password = Password
account-current-password = Current password
account-change-password = Change password
account-new-email = New e-mail address
account-change-email = Change e-mail address
account-email-hint = We send a mail to the new address. Only when you click the link in that mail do we use the new address. Until then the old address stays your recovery address.
account-email-pending = Waiting for confirmation: { $email }. Click the link in the mail we sent to that address. Until then the address above stays your recovery address.
account-email-cancel = Cancel the change
email-change-cancelled = The change of your e-mail address is cancelled. The link in the mail no longer works.
email-change-none-waiting = No change of your e-mail address is waiting any more: it was confirmed or cancelled already. Your recovery e-mail address is below.
password-current-wrong = Your current password is not correct.
password-current-empty = Enter your current password.
password-current-again = Enter your current password again too.
password-changed-here = Your password has been changed. You have been logged out on other devices and websites.
email-change-throttled = You have just changed your e-mail address a few times. Try again in { $minutes } { $minutes ->
        [one] minute
       *[other] minutes
    }.
email-same = This is your e-mail address already.
email-verify-sent = We have sent a mail to { $email }. Click the link in that mail to start using the new address.
email-confirm-title = Confirm your new e-mail address
email-confirm-body = Click Confirm to make { $email } the recovery address of your login account. That is where the mail goes when you forget your password or username.
email-confirm-button = Confirm
email-changed-title = Your e-mail address has been changed
email-changed-body = Your new e-mail address is now your recovery address: mails about your login account go there from now on.
email-link-expired-body = This link has already been used or has expired, or was withdrawn because your password was changed since. Do you still want to change your e-mail address? Then enter the new address again on your account page; you will get a new mail.
email-link-unknown-body = We do not recognise this link. Perhaps only part of it was copied: open the link again from the mail. Still not working? Enter your new e-mail address again on your account page; you will get a new mail.
account-to-account = To my login account

# Desk: answers of the desk API and the console
desk-generated = Login account generated
desk-linked = Registration linked to the existing login account
desk-no-account = Registered without a login account. This member cannot log in to the website, the online library or the library's other online services.
desk-note-username-generated = The card number { $card } is already in use as a username, so the username is { $username }.
desk-note-confirmation-sent = The member gets a mail to confirm the e-mail address and choose a password. No mail? Ask the member to look in the junk (spam) folder.
desk-note-linked-mail = The owner of the login account gets a mail that this library now uses the account too.
desk-recovery-reset-done = The registration's e-mail address becomes the recovery address as soon as the member clicks the link in the mail. The old address is notified.
desk-api-insufficient-scope = This access token may not do this.
desk-api-unauthorized = Send a valid access token (client_credentials of the library system).
api-not-found = There is no such resource in the API.
api-method-not-allowed = This resource of the API does not answer that method.
desk-api-not-a-library-system = Only a library's own system may use the desk API.
desk-api-invalid-body = This request cannot be read.
desk-error-invalid-input = Some of the details are not right.
desk-error-card-number-registered = This card number is already registered at this library.
desk-error-membership-not-found = There is no registration with this card number at this library.
desk-error-account-not-found = There is no login account with this username. Note: upper and lower case letters differ.
desk-error-account-disabled = This login account is blocked and cannot be linked.
desk-error-no-login-account = This registration has no login account.
desk-error-already-linked = This registration is already linked to a login account.
desk-error-other-account-linked = This registration has meanwhile been linked to another login account. Look at the registration again.
desk-error-no-registration-email = The registration has no e-mail address.
desk-error-no-email-for-account = A new login account needs an e-mail address. First fill in the registration's e-mail address.
desk-error-no-account-email = The login account has no e-mail address, so no confirmation mail was sent.
desk-error-already-recovery-address = The registration's e-mail address is already the recovery address.
desk-error-awaiting-confirmation = This login account is still waiting for confirmation through this e-mail address. Send the confirmation mail again.
desk-error-staff-account = This login account belongs to desk staff. Its recovery e-mail address can only be reset after an operator has taken away the desk role.
desk-error-account-already-confirmed = This login account is confirmed already. If the member forgot the password, point to "Forgot your password?".
desk-error-password-reset-not-offered = Passwords cannot be reset at the desk. The member chooses a new password with "Forgot your password?" on the login page. More help: { $help_url }
desk-error-idempotency-key-reused = This Idempotency-Key was used for another request.
desk-error-link-attempts-wait = Too many attempts to link this login account gave a wrong birth date or username. Linking works again in { $minutes } { $minutes ->
        [one] minute
       *[other] minutes
    }. Meanwhile, register the member without a login account, and link the account from the member's details afterwards.
desk-error-caller-link-attempts-wait = From this desk (or this library system), linking has given a wrong birth date or username too often, for several login accounts. Linking works again in { $minutes } { $minutes ->
        [one] minute
       *[other] minutes
    }. This is in the operators' log of Single Identity. Meanwhile, register the member without a login account.
desk-error-search-attempts-wait = From this desk (or this library system), searches have too often named a login account that does not exist. Searching works again in { $minutes } { $minutes ->
        [one] minute
       *[other] minutes
    }. This is in the operators' log of Single Identity.
desk-register-sent-before = This form was sent before with other details (for example before the Back button). Check the details and click Continue again to register the member like this.
desk-error-unavailable = The service is temporarily unavailable. Please try again in a minute.
desk-error-internal-error = Something went wrong on our side. Please try again in a few minutes.
desk-field-invalid-branch = Choose a branch.
desk-field-unknown-branch = This library has no branch with this code.
desk-field-card-number-required = Enter the card number.
desk-field-invalid-card-number = A card number has 4 to 32 letters or digits.
desk-field-name-required = Enter the member's name.
desk-field-invalid-name = A name has at most 200 characters, without invisible control characters.
desk-field-invalid-birth-date = Enter a birth date as YYYY-MM-DD.
desk-typed-birth-date-invalid = Enter a birth date that exists, as DD-MM-YYYY, for example 03-03-2015.
desk-typed-birth-date-too-early = The birth date is before 1900: enter the birth date as DD-MM-YYYY, for example 03-03-2015.
desk-field-birth-date-in-future = The birth date is in the future.
desk-field-birth-date-too-early = The birth date is before 1900: enter the birth date as YYYY-MM-DD.
desk-field-age-outside-subscription = This subscription does not fit the member's age.
desk-field-invalid-email = Enter a valid e-mail address, for example name@example.com.
desk-field-email-required-for-account = A login account needs an e-mail address. Without one, choose "No" for Use login account.
desk-field-invalid-subscription-type = Choose a subscription.
desk-field-unknown-subscription-type = This library has no subscription with this code.
desk-field-validity-beyond-calendar = This subscription runs too far into the future.
desk-field-invalid-discount = The discount must be between €0 and €1,000,000.
desk-field-discount-not-an-amount = Enter the discount as an amount in euros, such as 5 or 5.50.
desk-field-discount-exceeds-fee = The discount is higher than the subscription fee.
desk-field-invalid-language = Choose Dutch (nl) or English (en).
desk-field-username-required = Enter the username of the existing login account.
desk-field-username-without-existing-account = A username belongs only with an existing login account (login_account: existing).
desk-field-invalid-username = A username has 4 to 80 characters: letters without accents (a–z, A–Z), digits and _ - @ .
desk-field-account-not-found = There is no login account with this username. Note: upper and lower case letters differ.
desk-field-account-of-another-birth-date = This login account belongs to someone with another birth date. Check the username (case-sensitive) and the birth date of this registration with the member.
desk-field-account-without-registration = This login account belongs to no registration, so it cannot be linked. Generate a new login account.
desk-field-account-registered-here = This login account already belongs to a registration of this library. Use an existing account only for a member who comes from another library.

# Desk: the console for desk staff
desk-console-title = Desk
desk-signed-in-as = signed in as
desk-choose-library = Choose your library
desk-no-access-title = No access to the desk
desk-no-access-body = Your login account has no desk role here. Ask the administrator to give you access.
desk-home-title = Member administration
desk-register = Register a member
desk-register-with-account = Register a member with this login account
desk-register-not-set-up = No one can be registered at this library yet: it has no branch, or no subscription type. Ask the operator of Single Identity to add them.
desk-find-member = Find a member
desk-open = Open
desk-search-title = Find an existing login account
desk-search-username = Login account username
desk-case-sensitive = Case-sensitive
desk-search = Search
desk-search-started-elsewhere = This search came from another website and has not been run. Check what is filled in, then choose Open or Search yourself.
desk-search-intro = Enter the details the member gives you.
desk-result = Result
desk-link = Link
desk-edit-details = Change the details
desk-member-details = Member details
desk-card-number = Card number
desk-name = Name
desk-birth-date = Date of birth
desk-birth-date-hint = As DD-MM-YYYY, for example 03-03-2015 (YYYY-MM-DD works too).
desk-email = E-mail
desk-branch = Branch
desk-use-account = Use login account
desk-use-account-hint = Choose No only when the member does not want a login account. Without one, the member cannot log in to the website, the online library and other online services.
desk-yes = Yes
desk-no = No
desk-which-account = Login account
desk-which-account-hint = Does the member already have a login account, having been a member before and moved? Then choose Use existing login account.
desk-existing = Use existing login account
desk-new = Generate new login account
desk-new-account-hint = The username will be the card number, unless it is already in use. The member gets a mail at { $email } to confirm the e-mail address and choose a password.
desk-generate = Generate
desk-mail-language = Language of the mails to the member
desk-mail-language-hint = The confirmation mail and later mails about the login account. A mail the member asks for (a forgotten password or username) comes in the language of the page they ask on.
desk-unlink = Unlink login account
desk-unlink-question = Do you want to unlink this registration from login account { $username }? Only do this if the registration was linked to this account by mistake. The account stays; its owner gets a mail.
desk-unlinked = The registration was unlinked from the login account. The account's owner gets a mail. Now link the right account, or generate a new one.
desk-subscription = Subscription
desk-discount = Discount
desk-discount-hint = In euros, for example 5.00. Leave empty for no discount.
desk-continue = Continue
desk-expired-form = This form had expired. Please check the details and send it again.
desk-errors-title = Please check the details
desk-cost-title = Subscription cost overview
desk-cost-intro = Member is being created; branch { $branch }
desk-age = Age
desk-tariff = Tariff code
desk-expiry-month = Expiry month
desk-rights-until = Rights until
desk-costs = Subscription costs
desk-subscription-fee = Subscription
desk-discount-row = Discount
desk-balance = Balance
desk-valid-until-month = Valid through { $month }
desk-none = (none)
desk-next-member = Register the next member
desk-open-member = View the registration
desk-login-account = Login account
desk-recovery-email = Recovery e-mail address
desk-status = Status
desk-status-pending = Not confirmed yet
desk-status-active = Active
desk-status-disabled = Blocked
desk-resend = Send the confirmation mail again
desk-resent = The confirmation mail was sent again, with a new link. No mail? Ask the member to look in the junk (spam) folder.
desk-resent-just-now = A confirmation mail was sent less than a minute ago, so no new one was sent. No mail? Ask the member to look in the junk (spam) folder, or try again in a minute.
desk-reset-recovery = Reset recovery e-mail address
desk-reset-question = The recovery e-mail address becomes the address in the registration: { $email }. The member gets a mail there to confirm it. Do you want to continue?
desk-password-reset = Reset password
desk-change-email = Change e-mail address
desk-email-change-hint = The e-mail address the member gives now. Leave it empty when there is none.
desk-email-change-recovery-hint = The login account's recovery address does not change with it: use "Reset recovery e-mail address" for that afterwards.
desk-email-change-confirmation-hint = The login account is still waiting for confirmation: it gets the new address, and the confirmation mail goes again, to that address.
desk-save = Save
desk-cancel = Cancel
desk-email-changed = The registration's e-mail address has been changed.
desk-email-changed-recovery = The login account's recovery address has not changed: use "Reset recovery e-mail address" for that.
desk-email-changed-confirmation = The login account is still waiting for confirmation: the confirmation mail has been sent again, to the new address. The link in the earlier mail no longer works.
account-ready = Your login account is ready to use. You can now log in to the online services of the library.
