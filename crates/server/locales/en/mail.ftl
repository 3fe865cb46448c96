# Mails to members. Many members are children: short sentences, plain words.
# Variables are filled in by src/mail/compose.rs.

## Parts of every mail
mail-greeting-name = Hello { $name },
mail-greeting = Hello,
mail-button-fallback = Does the button not work? Then copy this link and paste it into your browser:
# $help_url becomes a link in the mail.
mail-help = For more information, go to { $help_url }
mail-closing = Kind regards,
mail-footer = This e-mail was sent automatically. You cannot reply to it.
mail-button-confirm = Confirm
mail-ignore = Didn't ask for this? Then you can ignore this e-mail.
mail-done-yourself = Did you do this yourself? Then you do not need to do anything.
mail-not-you-library = Was this not you? Then please contact your library.
mail-date =
    { $day } { $month ->
        [1] January
        [2] February
        [3] March
        [4] April
        [5] May
        [6] June
        [7] July
        [8] August
        [9] September
        [10] October
        [11] November
       *[12] December
    } { $year }

## Confirm the login account (made at the library desk)
mail-confirm-subject = Confirm your login account
mail-confirm-intro = Your login account is almost ready to use. Confirm your e-mail address by clicking the button below.
mail-confirm-password = After that, you choose your own password.
mail-confirm-username = Your username is { $username }. This is usually the number on your library card. You can change your username yourself later.

## Announcement, about two weeks before the start
mail-announce-subject = Soon one account for { $library_name }
mail-announce-intro = Soon you can log in to all services of { $library_name } in one way, with one account.
mail-announce-date = This starts on { $date }.
mail-announce-services = You will then use the same username and password for your library's website (Mijn Menu), the Online Library and the apps.
mail-announce-next = On { $date } you will get another e-mail. It tells you which username to log in with.
mail-announce-nothing = You do not need to do anything now.
mail-announce-spam = Can you not find that e-mail? Then also look in your spam or junk mail folder.

## The username at the start
mail-golive-subject = Your username for { $library_name }
mail-golive-intro = From now on, you log in to all services of { $library_name } with one account.
mail-golive-kept = Your username stays the same as for Mijn Menu:
mail-golive-kept-at = Your username stays the same as for Mijn Menu of { $library }:
mail-golive-taken = Someone else already uses the username { $old }.
mail-golive-not-allowed = Your old username { $old } does not fit the new rules for usernames.
mail-golive-missing = You did not have a username for Mijn Menu yet.
mail-golive-missing-at = You did not have a username for Mijn Menu of { $library } yet.
mail-golive-new = So you have been given a new username:
mail-golive-dropped = For Mijn Menu of { $library } you had the username { $old }. It no longer works: you have one account for all your libraries. Log in there too with the username above.
mail-golive-password-kept = Your password stays the same as for Mijn Menu.
mail-golive-password-kept-at = Your password is the one you had for Mijn Menu of { $library }. Did you have another password at another library? That one no longer works.
mail-golive-password-missing-at = For Mijn Menu of { $library } you did not have a password yet, and a password you had at another library no longer works. Choose a password with “Forgot your password?”: { $forgot_url }
mail-golive-password-missing = You do not have a password yet. Choose one with “Forgot your password?”: { $forgot_url }
mail-golive-change = You can always change your username and your password yourself later.

## Forgot password
mail-forgot-password-subject = Choose a new password
mail-forgot-password-intro = You asked for a new password for { $username }. Click the button below and choose a new password.
mail-forgot-password-button = Choose a new password
mail-forgot-password-valid =
    This link works for { $minutes ->
        [one] 1 minute
       *[other] { $minutes } minutes
    }.
mail-forgot-password-ignore = Didn't ask for this? Then you can ignore this e-mail: nothing about your login account changes.

## Forgot username
mail-forgot-username-subject =
    { $count ->
        [one] Your username
       *[other] Your usernames
    }
mail-forgot-username-intro =
    { $count ->
        [one] This username belongs to this e-mail address:
       *[other] These { $count } usernames belong to this e-mail address:
    }
mail-forgot-username-family = Sometimes people in one family share an e-mail address. That is why you see all the usernames.
mail-forgot-username-case = Type capital letters and small letters exactly as they are here.
mail-forgot-username-names = The name between brackets is not part of the username: it is the name the library knows its member by.
mail-forgot-username-password = Forgot your password too? Then choose a new one with “Forgot your password?”: { $forgot_url }

## Confirm a new e-mail address
mail-email-verify-subject = Confirm your new e-mail address
mail-email-verify-intro = This e-mail address becomes the recovery address of your account { $username } once you confirm it. Click the button below to do so.
mail-email-verify-ignore = Didn't ask for this, yourself or at the library? Then you can ignore this e-mail. Nothing will change.

## To the old address: the e-mail address is changing
mail-email-changed-subject = The e-mail address of your account is changing
mail-email-changed-intro = The e-mail address of your account { $username } is being changed to { $new_email }.

## A registration was linked to the account
mail-linked-subject = Your account is linked to { $library_name }
mail-linked-intro = Your registration at { $library_name } has been linked to your account { $username }.
mail-linked-same = You log in there with the same username and password.

## A registration was unlinked from the account
mail-unlinked-subject = Your account is no longer linked to { $library_name }
mail-unlinked-intro = { $library_name } has unlinked a registration from your account { $username }.
mail-unlinked-rest = That registration no longer belongs to your account. Your other registrations, your username and your password stay as they were.

## Username changed
mail-username-changed-subject = Your username has been changed
mail-username-changed-intro = The username of your account has been changed from { $old } to { $new }. From now on, log in with { $new }.
mail-username-changed-not-you = Was this not you? Then choose a new password straight away with “Forgot your password?”, with your username { $new }: { $forgot_url } After that you can change your username back.

## Password changed
mail-password-changed-subject = Your password has been changed
mail-password-changed-intro = The password of your account { $username } has been changed.
mail-password-changed-not-you = Was this not you? Then choose a new password straight away with “Forgot your password?”: { $forgot_url }

## The library wants to reset the e-mail address (to the old address)
mail-recovery-reset-subject = Your library wants to change your e-mail address
mail-recovery-reset-intro = { $library_name } wants to change the e-mail address of your account { $username } to the e-mail address of your library registration.
mail-recovery-reset-address = That address is { $new_email }. It changes only once the link in the e-mail to that address is confirmed. Until then, this address stays the e-mail address of your account.
mail-recovery-reset-use = We send e-mails to your account's e-mail address when you forget your password or username.
mail-recovery-reset-not-right = Is this not right? Then please contact { $library_name }.
