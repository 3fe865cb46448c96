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
