# Algemeen
service-name = Single Identity
language-switch = English
help-link = Hulp bij inloggen

# Foutpagina's
error-not-found-title = Pagina niet gevonden
error-not-found-body = Deze pagina bestaat niet (meer). Controleer het adres of ga terug naar de vorige pagina.
error-internal-title = Er ging iets mis
error-internal-body = Er ging aan onze kant iets mis. Probeer het over een paar minuten opnieuw. Blijft het misgaan, neem dan contact op met je bibliotheek.
error-bad-request-title = Dit verzoek klopt niet
error-bad-request-body = De gegevens in dit verzoek konden niet worden gelezen. Ga terug en probeer het opnieuw.
error-method-title = Dit kan hier niet
error-method-body = Deze pagina kan niet op deze manier worden gebruikt.
error-reference = Foutcode

# Inloggen
login-title = Inloggen
login-username = Gebruikersnaam
login-password = Wachtwoord
login-submit = Inloggen
login-forgot-password = Wachtwoord vergeten?
login-forgot-username = Gebruikersnaam vergeten?
login-failed = Gebruikersnaam of wachtwoord klopt niet. Let op: hoofdletters en kleine letters zijn verschillend.
login-throttled = Er is te vaak een verkeerd wachtwoord ingevuld. Probeer het over { $minutes } { $minutes ->
        [one] minuut
       *[other] minuten
    } opnieuw.
login-expired-form = Dit formulier was verlopen. Vul je gegevens opnieuw in.

# Fouten bij het inloggen vanuit een andere website
authorize-error-title = Inloggen lukt zo niet
authorize-error-body = De website die je hierheen stuurde, gaf geen geldige gegevens mee. Ga terug naar die website en probeer het opnieuw.

# Uitloggen
logout-title = Tot de volgende keer
logout-done = Je bent nu succesvol uitgelogd.
logout-close = Je kunt dit browservenster sluiten.
logout-back-to-login = Terug naar de loginpagina
