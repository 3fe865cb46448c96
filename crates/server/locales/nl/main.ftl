# Algemeen
service-name = Single Identity
skip-to-content = Naar de inhoud
language-switch = English
help-link = Hulp bij inloggen

# Foutpagina's
error-not-found-title = Pagina niet gevonden
error-not-found-body = Deze pagina bestaat niet (meer). Controleer het adres of ga terug naar de vorige pagina.
error-unavailable-title = Even niet bereikbaar
error-unavailable-body = De dienst is even niet bereikbaar. Probeer het over een minuut opnieuw.
error-internal-title = Er ging iets mis
error-internal-body = Er ging aan onze kant iets mis. Probeer het over een paar minuten opnieuw. Blijft het misgaan, neem dan contact op met je bibliotheek.
error-bad-request-title = Dit verzoek klopt niet
error-bad-request-body = De gegevens in dit verzoek konden niet worden gelezen. Ga terug en probeer het opnieuw.
error-too-large-title = Dit verzoek is te groot
error-too-large-body = Dit verzoek bevat meer gegevens dan onze formulieren ooit versturen en is daarom niet gelezen. Ga terug en probeer het opnieuw.
error-host = Een HTTP/1.1-verzoek heeft precies één Host-header nodig.
error-method-title = Dit kan hier niet
error-method-body = Deze pagina kan niet op deze manier worden gebruikt.
error-reference = Foutcode

# Inloggen
login-title = Inloggen
login-username = Gebruikersnaam
login-password = Wachtwoord
login-continue-to = Log in om verder te gaan naar { $website }.
login-submit = Inloggen
login-forgot-password = Wachtwoord vergeten?
login-forgot-username = Gebruikersnaam vergeten?
login-failed = Gebruikersnaam of wachtwoord klopt niet. Let op: hoofdletters en kleine letters zijn verschillend.
# Before a page's title when a form on it was refused.
title-refused = Fout:
login-fields-empty = Vul je gebruikersnaam en je wachtwoord in.
login-session-ended = Je bent intussen uitgelogd, bijvoorbeeld omdat je een tijd niet actief was. Log opnieuw in. Wat je net had ingevuld, is niet opgeslagen.
login-busy = Het is nu erg druk. Probeer het over een paar seconden opnieuw.
login-throttled = Er is te vaak een verkeerd wachtwoord ingevuld. Probeer het over { $minutes } { $minutes ->
        [one] minuut
       *[other] minuten
    } opnieuw.
login-throttled-in-flight = Er wordt nu vaak tegelijk geprobeerd in te loggen met deze gebruikersnaam. Probeer het over een paar seconden opnieuw.
login-throttled-address = Vanaf dit netwerk wordt nu te vaak geprobeerd in te loggen. Probeer het over { $minutes } { $minutes ->
        [one] minuut
       *[other] minuten
    } opnieuw.
forgot-throttled-address = Vanaf dit netwerk zijn nu te veel herstelmails aangevraagd. Probeer het over { $minutes } { $minutes ->
        [one] minuut
       *[other] minuten
    } opnieuw.
login-expired-form = Dit formulier was verlopen. Vul je gegevens opnieuw in.

# Fouten bij het inloggen vanuit een andere website
authorize-error-title = Inloggen lukt zo niet
authorize-error-body = De website die je hierheen stuurde, gaf geen geldige gegevens mee. Ga terug naar die website en probeer het opnieuw.
logout-error-title = Uitloggen lukt zo niet
logout-error-body = De website die je hierheen stuurde, gaf gegevens mee die niet kloppen. Je bent niet uitgelogd. Wil je uitloggen, kies dan Uitloggen op je accountpagina.
carry-on-title = Even geduld
carry-on-body = Je gaat verder naar de website die je hierheen stuurde.
carry-on-button = Doorgaan

# Uitloggen
logout-title = Tot de volgende keer
logout-done = Je bent nu succesvol uitgelogd.
logout-close = Je kunt dit browservenster sluiten.
logout-back-to-login = Terug naar de loginpagina
logout-confirm-title = Uitloggen?
logout-confirm-body = Wil je uitloggen? Je wordt dan uitgelogd bij alle diensten van de Bibliotheek waar je met dit account bent ingelogd.
logout-confirm-stay = Nee, ingelogd blijven

# Hulp bij inloggen
help-title = Hulp bij inloggen
help-body = Met één inlogaccount log je in op de website van je bibliotheek, bij de e-books en bij de andere online diensten van de bibliotheek. Je gebruikersnaam is meestal je pasnummer, tenzij je hem zelf hebt gewijzigd. Let op: hoofdletters en kleine letters zijn verschillend. Weet je je wachtwoord of gebruikersnaam niet meer? Dan kun je hier zelf een nieuw wachtwoord kiezen of je gebruikersnaam opvragen. Lukt het niet? Vraag het dan aan de medewerkers van je bibliotheek: zij kunnen een nieuwe bevestigingsmail sturen, maar je wachtwoord niet voor je instellen.
help-more = Meer hulp bij inloggen
help-back = Terug naar de vorige pagina
help-back-to-login = Naar de loginpagina

# Wachtwoord of gebruikersnaam vergeten
forgot-password-title = Wachtwoord vergeten
forgot-password-intro = Vul je gebruikersnaam in. Let op: hoofdletters en kleine letters zijn verschillend. We sturen een mail met een link waarmee je een nieuw wachtwoord kiest. De link werkt { $minutes ->
        [one] 1 minuut
       *[other] { $minutes } minuten
    }.
forgot-username-title = Gebruikersnaam vergeten
forgot-username-intro = Vul het e-mailadres in dat bij je inlogaccount hoort. We sturen een mail met alle gebruikersnamen die bij dat adres horen.
forgot-email = E-mailadres
forgot-submit = Verstuur
forgot-username-missing = Vul je gebruikersnaam in.
forgot-email-invalid = Vul een geldig e-mailadres in, bijvoorbeeld naam@voorbeeld.nl.
check-mail-title = Kijk in je mail
check-mail-password = Als deze gebruikersnaam bestaat en er een e-mailadres bij hoort, hebben we een mail gestuurd met een link om een nieuw wachtwoord te kiezen. De link werkt { $minutes ->
        [one] 1 minuut
       *[other] { $minutes } minuten
    }.
check-mail-username = Als er inlogaccounts bij dit e-mailadres horen, hebben we een mail gestuurd met de gebruikersnamen.
check-mail-spam = Geen mail gekregen? Kijk ook in je map met ongewenste mail (spam).

# Nieuw wachtwoord kiezen
set-password-title = Stel je wachtwoord in
set-password-intro = Om je account goed te beschermen, heb je een sterk wachtwoord nodig.
set-password-for = Gebruikersnaam: { $username }
set-password-new = Nieuw wachtwoord
set-password-repeat = Herhaal nieuw wachtwoord
set-password-submit = Bevestigen
rule-min-length = gebruik tenminste 8 tekens
rule-upper-case = gebruik tenminste 1 hoofdletter (ABC...)
rule-lower-case = gebruik tenminste 1 kleine letter (abc...)
rule-digit = gebruik tenminste 1 cijfer (12345...)
rule-special = gebruik tenminste 1 speciaal teken (bijvoorbeeld !@#%&*)
rule-hard-to-guess = niet makkelijk te raden
rule-same = wachtwoorden zijn hetzelfde
rule-met = voldaan
rule-unmet = nog niet voldaan
password-advice = Zet je gebruikersnaam of pasnummer er ook niet in. Een paar losse woorden, met de tekens hierboven, werkt goed.
password-rules-unmet = Je wachtwoord voldoet nog niet aan deze regels:
password-not-same = De twee wachtwoorden zijn niet hetzelfde. Typ je nieuwe wachtwoord opnieuw, in beide velden.
password-too-long = Dit wachtwoord is te lang. Gebruik hoogstens 1024 tekens, minder als er letters met accenten of emoji in staan.
password-untypable-character = Dit wachtwoord bevat een teken dat je niet kunt typen, zoals een tab, een regeleinde of een onzichtbaar teken van kopiëren en plakken. Gebruik letters, cijfers, spaties en leestekens.
password-contains-name = Gebruik je gebruikersnaam of pasnummer niet in je wachtwoord.
password-too-common = Dit wachtwoord is te makkelijk te raden. Maak het langer of minder voorspelbaar, bijvoorbeeld met een paar losse woorden.
password-check-unreadable = Dit wachtwoord kan niet gecontroleerd worden.
password-check-busy = Het is nu te druk om dit wachtwoord te controleren. Probeer het zo nog eens.
password-changed-title = Je wachtwoord is gewijzigd
password-changed-body = Je kunt nu inloggen met je nieuwe wachtwoord. Voor je veiligheid ben je overal uitgelogd waar je nog ingelogd was.
link-expired-title = Deze link werkt niet meer
link-expired-body = Deze link is al gebruikt of verlopen. Vraag hieronder een nieuwe mail aan.
link-expired-new-mail = Stuur een nieuwe mail

# Mijn inlogaccount
account-title = Mijn inlogaccount
account-new-username = Nieuwe gebruikersnaam
account-username-hint = 4 tot 80 tekens: letters zonder accent (a–z, A–Z), cijfers en _ - @ . Hoofdletters en kleine letters zijn verschillend.
account-change-username = Gebruikersnaam wijzigen
account-no-email = Er hoort geen e-mailadres bij dit account.
account-memberships = Mijn bibliotheken
account-no-memberships = Er zijn nog geen lidmaatschappen aan dit account gekoppeld.
account-card-number = Pasnummer
account-valid-until = Geldig t/m
account-logout = Uitloggen
username-invalid = Deze gebruikersnaam kan niet. Gebruik 4 tot 80 tekens: letters zonder accent (a–z, A–Z), cijfers en _ - @ .
username-same = Dit is al je gebruikersnaam.
username-empty = Vul een nieuwe gebruikersnaam in.
username-taken = Deze gebruikersnaam is al in gebruik. Kies een andere.
username-changed = Je gebruikersnaam is gewijzigd. Log voortaan in met je nieuwe gebruikersnaam.
username-changed-meanwhile = Je gebruikersnaam is net al gewijzigd, in een ander venster of tabblad. Hieronder staat hoe hij nu is; wil je een andere, probeer het dan opnieuw.
username-too-many-held = Je hebt je gebruikersnaam de laatste tijd al vaak gewijzigd: je oude gebruikersnamen worden nog voor je vastgehouden. Je kunt hem weer wijzigen over { $days ->
        [one] 1 dag
       *[other] { $days } dagen
    }, of nu een van je oude gebruikersnamen terugnemen: { $held }.

# Bevestigen van een nieuw inlogaccount
confirm-expired-body = De link in je bevestigingsmail is verlopen. Vraag hieronder een nieuwe mail aan, met een nieuwe link.
link-account-disabled-body = Dit inlogaccount is uitgeschakeld, dus deze link werkt niet. Vraag de medewerkers van je bibliotheek om hulp.
link-unknown-title = Deze link klopt niet
confirm-unknown-body = We kennen deze link niet. Misschien is er maar een deel van gekopieerd: open de link opnieuw vanuit de mail. Lukt het dan nog niet? Vraag de medewerkers van je bibliotheek om een nieuwe bevestigingsmail.
reset-unknown-body = We kennen deze link niet. Misschien is er maar een deel van gekopieerd: open de link opnieuw vanuit de mail, of vraag hieronder een nieuwe mail aan.
confirm-used-body = Deze link is al gebruikt: je inlogaccount is bevestigd. Log in met je gebruikersnaam en wachtwoord. Weet je je wachtwoord niet meer? Kies dan "Wachtwoord vergeten?" op de loginpagina.
confirm-superseded-body = Er is een nieuwere bevestigingsmail verstuurd: gebruik de link in de nieuwste mail. Geen mail gekregen? Kijk ook in je map met ongewenste mail, of vraag de medewerkers van je bibliotheek om een nieuwe bevestigingsmail.
confirm-resent-body = We hebben een nieuwe bevestigingsmail gestuurd. Geen mail gekregen? Kijk ook in je map met ongewenste mail (spam).
account-password = Wachtwoord
account-current-password = Huidig wachtwoord
account-change-password = Wachtwoord wijzigen
account-new-email = Nieuw e-mailadres
account-change-email = E-mailadres wijzigen
account-email-hint = We sturen een mail naar het nieuwe adres. Pas als je op de link in die mail klikt, gebruiken we het nieuwe adres. Tot dan blijft het oude adres je herstel-e-mailadres.
account-email-pending = Wacht op bevestiging: { $email }. Klik op de link in de mail die we naar dat adres stuurden. Tot dan blijft het adres hierboven je herstel-e-mailadres.
account-email-cancel = Wijziging annuleren
email-change-cancelled = De wijziging van je e-mailadres is geannuleerd. De link in de mail werkt niet meer.
email-change-none-waiting = Er wacht geen wijziging van je e-mailadres meer: ze is al bevestigd of geannuleerd. Je herstel-e-mailadres staat hieronder.
password-current-wrong = Je huidige wachtwoord klopt niet.
password-current-empty = Vul je huidige wachtwoord in.
password-current-again = Vul ook je huidige wachtwoord opnieuw in.
password-changed-here = Je wachtwoord is gewijzigd. Op andere apparaten en websites ben je uitgelogd.
email-change-throttled = Je hebt je e-mailadres net al een paar keer gewijzigd. Probeer het over { $minutes } { $minutes ->
        [one] minuut
       *[other] minuten
    } opnieuw.
email-same = Dit is al je e-mailadres.
email-verify-sent = We hebben een mail gestuurd naar { $email }. Klik op de link in die mail om het nieuwe adres te gaan gebruiken.
email-confirm-title = Nieuw e-mailadres bevestigen
email-confirm-body = Klik op Bevestigen om { $email } het herstel-e-mailadres van je inlogaccount te maken. Daar krijg je dan de mail als je je wachtwoord of gebruikersnaam vergeten bent.
email-confirm-button = Bevestigen
email-changed-title = Je e-mailadres is gewijzigd
email-changed-body = Je nieuwe e-mailadres is nu je herstel-e-mailadres: daar sturen we voortaan de mails over je inlogaccount naartoe.
email-link-expired-body = Deze link is al gebruikt of verlopen, of ingetrokken doordat je wachtwoord daarna is gewijzigd. Wil je je e-mailadres nog wijzigen? Vul het nieuwe adres dan opnieuw in op je accountpagina; je krijgt een nieuwe mail.
email-link-unknown-body = We kennen deze link niet. Misschien is er maar een deel van gekopieerd: open de link opnieuw vanuit de mail. Lukt het dan nog niet? Vul je nieuwe e-mailadres opnieuw in op je accountpagina; je krijgt een nieuwe mail.
account-to-account = Naar mijn inlogaccount

# Balie: antwoorden van de balie-API en de console
desk-generated = Genereren van inlogaccount gelukt
desk-linked = Inschrijving gekoppeld aan het bestaande inlogaccount
desk-no-account = Ingeschreven zonder inlogaccount. Deze klant kan niet inloggen op de website, de Online Bibliotheek en andere online diensten van de bibliotheek.
desk-note-username-generated = Het pasnummer { $card } is al in gebruik als gebruikersnaam. De gebruikersnaam is daarom { $username }.
desk-note-confirmation-sent = De klant krijgt een mail om het e-mailadres te bevestigen en een wachtwoord in te stellen. Geen mail gekregen? Laat de klant in de map met ongewenste mail (spam) kijken.
desk-note-linked-mail = De eigenaar van het inlogaccount krijgt een mail dat deze bibliotheek het account nu ook gebruikt.
desk-recovery-reset-done = Het herstel-e-mailadres wordt het e-mailadres van de inschrijving zodra de klant op de link in de mail klikt. Het oude adres krijgt een melding.
desk-api-insufficient-scope = Dit toegangstoken mag dit niet.
desk-api-unauthorized = Stuur een geldig toegangstoken mee (client_credentials van het bibliotheeksysteem).
api-not-found = Dit adres bestaat niet in de API.
api-method-not-allowed = Dit adres van de API kent deze methode niet.
desk-api-not-a-library-system = Alleen het eigen systeem van een bibliotheek mag de balie-API gebruiken.
desk-api-invalid-body = Dit verzoek kan niet worden gelezen.
desk-error-invalid-input = Niet alle gegevens kloppen.
desk-error-card-number-registered = Dit pasnummer is al ingeschreven bij deze bibliotheek.
desk-error-membership-not-found = Er is geen inschrijving met dit pasnummer bij deze bibliotheek.
desk-error-account-not-found = Er is geen inlogaccount met deze gebruikersnaam. Let op: hoofdletters en kleine letters zijn verschillend.
desk-error-account-disabled = Dit inlogaccount is geblokkeerd en kan niet worden gekoppeld.
desk-error-no-login-account = Deze inschrijving heeft geen inlogaccount.
desk-error-already-linked = Deze inschrijving is al gekoppeld aan een inlogaccount.
desk-error-other-account-linked = Deze inschrijving is intussen aan een ander inlogaccount gekoppeld. Bekijk de inschrijving opnieuw.
desk-error-no-registration-email = In de inschrijving staat geen e-mailadres.
desk-error-no-email-for-account = Voor een nieuw inlogaccount is een e-mailadres nodig. Vul eerst het e-mailadres van de inschrijving in.
desk-error-no-account-email = Het inlogaccount heeft geen e-mailadres, dus er is geen bevestigingsmail verstuurd.
desk-error-already-recovery-address = Het e-mailadres van de inschrijving is al het herstel-e-mailadres.
desk-error-awaiting-confirmation = Dit inlogaccount wacht nog op bevestiging via dit e-mailadres. Stuur de bevestigingsmail opnieuw.
desk-error-staff-account = Dit inlogaccount is van een baliemedewerker. Het herstel-e-mailadres kan alleen opnieuw worden ingesteld nadat een beheerder de baliefunctie heeft ingetrokken.
desk-error-account-already-confirmed = Dit inlogaccount is al bevestigd. Weet de klant het wachtwoord niet meer, verwijs dan naar "Wachtwoord vergeten?".
desk-error-password-reset-not-offered = Wachtwoorden resetten kan niet aan de balie. De klant kiest zelf een nieuw wachtwoord via "Wachtwoord vergeten?" op de inlogpagina. Meer hulp: { $help_url }
desk-error-idempotency-key-reused = Deze Idempotency-Key is al gebruikt voor een ander verzoek.
desk-error-link-attempts-wait = Voor dit inlogaccount is te vaak een verkeerde geboortedatum of gebruikersnaam geprobeerd. Koppelen kan weer over { $minutes } { $minutes ->
        [one] minuut
       *[other] minuten
    }. Schrijf de klant intussen in zonder inlogaccount; koppel het account daarna vanuit de klantgegevens.
desk-error-caller-link-attempts-wait = Vanaf deze balie (of dit bibliotheeksysteem) zijn bij het koppelen te vaak verkeerde geboortedata of gebruikersnamen geprobeerd, bij verschillende inlogaccounts. Koppelen kan weer over { $minutes } { $minutes ->
        [one] minuut
       *[other] minuten
    }. Dit staat in het logboek van de beheerders van Single Identity. Schrijf de klant intussen in zonder inlogaccount.
desk-error-search-attempts-wait = Vanaf deze balie (of dit bibliotheeksysteem) is te vaak gezocht naar inlogaccounts die niet bestaan. Zoeken kan weer over { $minutes } { $minutes ->
        [one] minuut
       *[other] minuten
    }. Dit staat in het logboek van de beheerders van Single Identity.
desk-register-sent-before = Dit formulier is al eens verstuurd met andere gegevens (bijvoorbeeld vóór de knop Terug). Controleer de gegevens en klik nogmaals op Verder om de klant zo in te schrijven.
desk-error-unavailable = De dienst is even niet bereikbaar. Probeer het over een minuut opnieuw.
desk-error-internal-error = Er ging aan onze kant iets mis. Probeer het over een paar minuten opnieuw.
desk-field-invalid-branch = Kies een vestiging.
desk-field-unknown-branch = Deze bibliotheek heeft geen vestiging met deze code.
desk-field-card-number-required = Vul het pasnummer in.
desk-field-invalid-card-number = Een pasnummer heeft 4 tot 32 letters of cijfers.
desk-field-name-required = Vul de naam van de klant in.
desk-field-invalid-name = Een naam heeft hoogstens 200 tekens, zonder onzichtbare stuurtekens.
desk-field-invalid-birth-date = Vul een geboortedatum in als JJJJ-MM-DD.
desk-typed-birth-date-invalid = Vul een geboortedatum in die bestaat, als DD-MM-JJJJ, bijvoorbeeld 03-03-2015.
desk-typed-birth-date-too-early = De geboortedatum ligt vóór 1900: vul de geboortedatum in als DD-MM-JJJJ, bijvoorbeeld 03-03-2015.
desk-field-birth-date-in-future = De geboortedatum ligt in de toekomst.
desk-field-birth-date-too-early = De geboortedatum ligt vóór 1900: vul de geboortedatum in als JJJJ-MM-DD.
desk-field-age-outside-subscription = Dit abonnement past niet bij de leeftijd van de klant.
desk-field-invalid-email = Vul een geldig e-mailadres in, bijvoorbeeld naam@voorbeeld.nl.
desk-field-email-required-for-account = Voor een inlogaccount is een e-mailadres nodig. Zonder e-mailadres: kies "Nee" bij Gebruik inlogaccount.
desk-field-invalid-subscription-type = Kies een abonnement.
desk-field-unknown-subscription-type = Deze bibliotheek heeft geen abonnement met deze code.
desk-field-validity-beyond-calendar = Dit abonnement loopt te ver door.
desk-field-invalid-discount = De korting moet tussen € 0 en € 1.000.000 liggen.
desk-field-discount-not-an-amount = Vul de korting in als bedrag in euro's, zoals 5 of 5,50.
desk-field-discount-exceeds-fee = De korting is hoger dan de abonnementskosten.
desk-field-invalid-language = Kies Nederlands (nl) of Engels (en).
desk-field-username-required = Vul de gebruikersnaam van het bestaande inlogaccount in.
desk-field-username-without-existing-account = Een gebruikersnaam hoort alleen bij een bestaand inlogaccount (login_account: existing).
desk-field-invalid-username = Een gebruikersnaam heeft 4 tot 80 tekens: letters zonder accent (a–z, A–Z), cijfers en _ - @ .
desk-field-account-not-found = Er is geen inlogaccount met deze gebruikersnaam. Let op: hoofdletters en kleine letters zijn verschillend.
desk-field-account-of-another-birth-date = Dit inlogaccount hoort bij iemand met een andere geboortedatum. Controleer met de klant de gebruikersnaam (hoofdlettergevoelig) en de geboortedatum van deze inschrijving.
desk-field-account-without-registration = Dit inlogaccount hoort bij geen enkele inschrijving, dus het kan niet worden gekoppeld. Genereer een nieuw inlogaccount.
desk-field-account-registered-here = Dit inlogaccount hoort al bij een inschrijving van deze bibliotheek. Een bestaand inlogaccount gebruik je alleen voor een klant die van een andere bibliotheek komt.

# Balie: de console voor baliemedewerkers
desk-console-title = Balie
desk-signed-in-as = ingelogd als
desk-choose-library = Kies je bibliotheek
desk-no-access-title = Geen toegang tot de balie
desk-no-access-body = Je inlogaccount heeft hier geen baliefunctie. Vraag de beheerder om je toegang te geven.
desk-home-title = Klantenadministratie
desk-register = Klant inschrijven
desk-register-with-account = Klant inschrijven met dit inlogaccount
desk-register-not-set-up = Bij deze bibliotheek kun je nog niemand inschrijven: er is nog geen vestiging of geen abonnement. Vraag de beheerder van Single Identity om die toe te voegen.
desk-find-member = Klant opzoeken
desk-open = Openen
desk-search-title = Bestaand inlogaccount zoeken
desk-search-username = Inlogaccount gebruikersnaam
desk-case-sensitive = Hoofdlettergevoelig
desk-search = Zoeken
desk-search-started-elsewhere = Deze zoekopdracht kwam via een andere website en is nog niet uitgevoerd. Controleer wat er is ingevuld en kies zelf Openen of Zoeken.
desk-search-intro = Vul hier de gegevens in die de klant doorgeeft.
desk-result = Resultaat
desk-link = Koppelen
desk-edit-details = Gegevens aanpassen
desk-member-details = Gegevens van de klant
desk-card-number = Pasnummer
desk-name = Naam
desk-birth-date = Geboortedatum
desk-birth-date-hint = Als DD-MM-JJJJ, bijvoorbeeld 03-03-2015 (JJJJ-MM-DD mag ook).
desk-email = E-mail
desk-branch = Vestiging
desk-use-account = Gebruik inlogaccount
desk-use-account-hint = Alleen als de klant geen inlogaccount wil, kies je Nee. Zonder inlogaccount kan de klant niet inloggen op de website, de Online Bibliotheek en andere online diensten.
desk-yes = Ja
desk-no = Nee
desk-which-account = Inlogaccount
desk-which-account-hint = Heeft de klant al een inlogaccount, omdat die al lid is (geweest) en is verhuisd? Kies dan Bestaand inlogaccount gebruiken.
desk-existing = Bestaand inlogaccount gebruiken
desk-new = Nieuw inlogaccount genereren
desk-new-account-hint = De gebruikersnaam wordt het pasnummer, tenzij dat al in gebruik is. De klant krijgt een mail op { $email } om het e-mailadres te bevestigen en een wachtwoord in te stellen.
desk-generate = Genereren
desk-mail-language = Taal van de mails aan de klant
desk-mail-language-hint = De bevestigingsmail en latere mails over het inlogaccount. Een mail die de klant zelf aanvraagt (wachtwoord of gebruikersnaam vergeten), komt in de taal van de pagina waarop hij die aanvraagt.
desk-unlink = Inlogaccount loskoppelen
desk-unlink-question = Wil je deze inschrijving loskoppelen van inlogaccount { $username }? Doe dit alleen als de inschrijving per vergissing aan dit account is gekoppeld. Het account blijft bestaan; de eigenaar krijgt een mail.
desk-unlinked = De inschrijving is losgekoppeld van het inlogaccount. De eigenaar van het account krijgt een mail. Koppel nu het juiste account, of genereer een nieuw.
desk-subscription = Abonnement
desk-discount = Korting
desk-discount-hint = In euro's, bijvoorbeeld 5,00. Leeg laten als er geen korting is.
desk-continue = Verder
desk-expired-form = Dit formulier was verlopen. Controleer de gegevens en verstuur het opnieuw.
desk-errors-title = Controleer de gegevens
desk-cost-title = Opbouw abonnementskosten
desk-cost-intro = Klant wordt gegenereerd; vestiging { $branch }
desk-age = Leeftijd
desk-tariff = Tariefcode
desk-expiry-month = Vervalmaand
desk-rights-until = Rechten t/m
desk-costs = Abonnementkosten
desk-subscription-fee = Abonnement
desk-discount-row = Korting
desk-balance = Saldo
desk-valid-until-month = Geldig t/m { $month }
desk-none = (geen)
desk-next-member = Volgende klant inschrijven
desk-open-member = Inschrijving bekijken
desk-login-account = Inlogaccount
desk-recovery-email = Herstel-e-mailadres
desk-status = Status
desk-status-pending = Nog niet bevestigd
desk-status-active = Actief
desk-status-disabled = Geblokkeerd
desk-resend = Bevestigingsmail opnieuw versturen
desk-resent = De bevestigingsmail is opnieuw verstuurd, met een nieuwe link. Geen mail gekregen? Laat de klant in de map met ongewenste mail (spam) kijken.
desk-resent-just-now = Er is minder dan een minuut geleden al een bevestigingsmail verstuurd, dus er is geen nieuwe verstuurd. Geen mail gekregen? Laat de klant in de map met ongewenste mail (spam) kijken, of probeer het over een minuut opnieuw.
desk-reset-recovery = Herstel-e-mailadres resetten
desk-reset-question = Het herstel-e-mailadres wordt het e-mailadres uit de inschrijving: { $email }. De klant krijgt daar een mail om het te bevestigen. Wil je doorgaan?
desk-password-reset = Wachtwoord resetten
desk-change-email = E-mailadres wijzigen
desk-email-change-hint = Het e-mailadres dat de klant nu doorgeeft. Leeg laten als er geen is.
desk-email-change-recovery-hint = Het herstel-e-mailadres van het inlogaccount verandert niet mee: gebruik daarvoor daarna "Herstel-e-mailadres resetten".
desk-email-change-confirmation-hint = Het inlogaccount wacht nog op bevestiging: het krijgt het nieuwe adres, en de bevestigingsmail gaat opnieuw, naar dat adres.
desk-save = Opslaan
desk-cancel = Annuleren
desk-email-changed = Het e-mailadres van de inschrijving is gewijzigd.
desk-email-changed-recovery = Het herstel-e-mailadres van het inlogaccount is niet gewijzigd: gebruik daarvoor "Herstel-e-mailadres resetten".
desk-email-changed-confirmation = Het inlogaccount wacht nog op bevestiging: de bevestigingsmail is opnieuw verstuurd, naar het nieuwe adres. De link in de eerdere mail werkt niet meer.
account-ready = Je inlogaccount is klaar voor gebruik. Je kunt nu inloggen bij de online diensten van de bibliotheek.
