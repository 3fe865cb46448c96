# Mails aan leden. Veel leden zijn kinderen: korte zinnen, gewone woorden.
# Variabelen worden ingevuld door src/mail/compose.rs.

## Vaste delen van elke mail
mail-greeting-name = Beste { $name },
mail-greeting = Hallo,
mail-button-fallback = Werkt de knop niet? Kopieer dan deze link en plak hem in je browser:
# $help_url komt als link in de mail.
mail-help = Kijk voor meer informatie op { $help_url }
mail-closing = Met vriendelijke groet,
mail-footer = Deze mail is automatisch verstuurd. Je kunt er niet op antwoorden.
mail-button-confirm = Bevestigen
mail-ignore = Heb je dit niet zelf gevraagd? Dan kun je deze mail negeren.
mail-done-yourself = Heb je dit zelf gedaan? Dan hoef je niets te doen.
mail-not-you-library = Was jij dit niet? Neem dan contact op met je bibliotheek.
mail-date =
    { $day } { $month ->
        [1] januari
        [2] februari
        [3] maart
        [4] april
        [5] mei
        [6] juni
        [7] juli
        [8] augustus
        [9] september
        [10] oktober
        [11] november
       *[12] december
    } { $year }

## Inlogaccount bevestigen (de balie heeft het account gemaakt)
mail-confirm-subject = Bevestig je inlogaccount
mail-confirm-intro = Je inlogaccount is bijna klaar voor gebruik. Bevestig je e-mailadres door op de knop hieronder te klikken.
mail-confirm-password = Daarna kies je zelf een wachtwoord.
mail-confirm-username = Je gebruikersnaam is { $username }. Meestal is dat het nummer van je bibliotheekpas. Je kunt je gebruikersnaam later zelf wijzigen.

## Aankondiging, ongeveer twee weken voor de start
mail-announce-subject = Binnenkort één account voor { $library_name }
mail-announce-intro = Binnenkort kun je op één manier, met één account inloggen voor alle diensten van { $library_name }.
mail-announce-date = Dat kan vanaf { $date }.
mail-announce-services = Je gebruikt dan dezelfde gebruikersnaam en hetzelfde wachtwoord voor de website van je bibliotheek (Mijn Menu), de Online Bibliotheek en de apps.
mail-announce-next = Op { $date } krijg je nog een mail. Daarin staat met welke gebruikersnaam je inlogt.
mail-announce-nothing = Je hoeft nu niets te doen.
mail-announce-spam = Zie je die mail niet? Kijk dan ook in de map met spam of ongewenste mail.

## Gebruikersnaam bij de start
mail-golive-subject = Je gebruikersnaam voor { $library_name }
mail-golive-intro = Vanaf nu log je met één account in voor alle diensten van { $library_name }.
mail-golive-kept = Je gebruikersnaam blijft hetzelfde als voor Mijn Menu:
mail-golive-kept-at = Je gebruikersnaam blijft hetzelfde als voor Mijn Menu van { $library }:
mail-golive-taken = Iemand anders gebruikt de gebruikersnaam { $old } al.
mail-golive-not-allowed = Je oude gebruikersnaam { $old } past niet bij de nieuwe regels voor gebruikersnamen.
mail-golive-missing = Je had nog geen gebruikersnaam voor Mijn Menu.
mail-golive-missing-at = Je had nog geen gebruikersnaam voor Mijn Menu van { $library }.
mail-golive-new = Daarom heb je een nieuwe gebruikersnaam gekregen:
mail-golive-dropped = Voor Mijn Menu van { $library } had je de gebruikersnaam { $old }. Die werkt vanaf nu niet meer: je hebt één account voor al je bibliotheken. Log ook daar in met de gebruikersnaam hierboven.
mail-golive-password-kept = Je wachtwoord blijft hetzelfde als voor Mijn Menu.
mail-golive-password-kept-at = Je wachtwoord is het wachtwoord dat je had voor Mijn Menu van { $library }. Had je bij een andere bibliotheek een ander wachtwoord? Dat werkt niet meer.
mail-golive-password-missing-at = Voor Mijn Menu van { $library } had je nog geen wachtwoord, en een wachtwoord dat je bij een andere bibliotheek had, werkt niet meer. Kies een wachtwoord met “Wachtwoord vergeten?”: { $forgot_url }
mail-golive-password-missing = Je hebt nog geen wachtwoord. Kies er een met “Wachtwoord vergeten?”: { $forgot_url }
mail-golive-change = Je kunt je gebruikersnaam en je wachtwoord later altijd zelf wijzigen.

## Wachtwoord vergeten
mail-forgot-password-subject = Kies een nieuw wachtwoord
mail-forgot-password-intro = Je hebt gevraagd om een nieuw wachtwoord voor { $username }. Klik op de knop hieronder en kies een nieuw wachtwoord.
mail-forgot-password-button = Nieuw wachtwoord kiezen
mail-forgot-password-valid =
    Deze link werkt { $minutes ->
        [one] 1 minuut
       *[other] { $minutes } minuten
    }.
mail-forgot-password-ignore = Heb je dit niet zelf gevraagd? Dan kun je deze mail negeren: er verandert dan niets aan je inlogaccount.

## Gebruikersnaam vergeten
mail-forgot-username-subject =
    { $count ->
        [one] Je gebruikersnaam
       *[other] Je gebruikersnamen
    }
mail-forgot-username-intro =
    { $count ->
        [one] Bij dit e-mailadres hoort deze gebruikersnaam:
       *[other] Bij dit e-mailadres horen deze { $count } gebruikersnamen:
    }
mail-forgot-username-family = Soms gebruiken mensen uit één gezin hetzelfde e-mailadres. Daarom zie je alle gebruikersnamen.
mail-forgot-username-case = Typ hoofdletters en kleine letters precies zoals ze hier staan.
mail-forgot-username-names = De naam tussen haakjes hoort niet bij de gebruikersnaam: het is de naam waaronder de bibliotheek het lid kent.
mail-forgot-username-password = Weet je je wachtwoord niet meer? Kies dan een nieuw wachtwoord met “Wachtwoord vergeten?”: { $forgot_url }

## Nieuw e-mailadres bevestigen
mail-email-verify-subject = Bevestig je nieuwe e-mailadres
mail-email-verify-intro = Dit e-mailadres wordt het herstel-e-mailadres van je account { $username } zodra je het bevestigt. Klik daarvoor op de knop hieronder.
mail-email-verify-ignore = Heb je dit niet zelf gevraagd, ook niet bij de bibliotheek? Dan kun je deze mail negeren. Er verandert dan niets.

## Naar het oude adres: het e-mailadres verandert
mail-email-changed-subject = Het e-mailadres van je account wordt gewijzigd
mail-email-changed-intro = Het e-mailadres van je account { $username } wordt gewijzigd in { $new_email }.

## Een inschrijving is aan het account gekoppeld
mail-linked-subject = Je account is gekoppeld aan { $library_name }
mail-linked-intro = Je inschrijving bij { $library_name } is gekoppeld aan je account { $username }.
mail-linked-same = Je logt daar in met dezelfde gebruikersnaam en hetzelfde wachtwoord.

## Een inschrijving is van het account losgekoppeld
mail-unlinked-subject = Je account is losgekoppeld van { $library_name }
mail-unlinked-intro = { $library_name } heeft een inschrijving losgekoppeld van je account { $username }.
mail-unlinked-rest = Die inschrijving hoort niet meer bij je account. Je andere inschrijvingen, je gebruikersnaam en je wachtwoord blijven zoals ze waren.

## Gebruikersnaam gewijzigd
mail-username-changed-subject = Je gebruikersnaam is gewijzigd
mail-username-changed-intro = De gebruikersnaam van je account is gewijzigd van { $old } in { $new }. Log voortaan in met { $new }.
mail-username-changed-not-you = Was jij dit niet? Kies dan meteen een nieuw wachtwoord met “Wachtwoord vergeten?”, met je gebruikersnaam { $new }: { $forgot_url } Daarna kun je je gebruikersnaam weer terugzetten.

## Wachtwoord gewijzigd
mail-password-changed-subject = Je wachtwoord is gewijzigd
mail-password-changed-intro = Het wachtwoord van je account { $username } is gewijzigd.
mail-password-changed-not-you = Was jij dit niet? Kies dan meteen een nieuw wachtwoord met “Wachtwoord vergeten?”: { $forgot_url }

## De bibliotheek wil het e-mailadres terugzetten (naar het oude adres)
mail-recovery-reset-subject = Je bibliotheek wil je e-mailadres aanpassen
mail-recovery-reset-intro = { $library_name } wil het e-mailadres van je account { $username } wijzigen in het e-mailadres van je inschrijving.
mail-recovery-reset-address = Dat adres is { $new_email }. Het verandert pas als de link in de mail naar dat adres is bevestigd. Tot dan blijft dit adres het e-mailadres van je account.
mail-recovery-reset-use = Op het e-mailadres van je account krijg je mail als je je wachtwoord of gebruikersnaam vergeten bent.
mail-recovery-reset-not-right = Klopt dit niet? Neem dan contact op met { $library_name }.
