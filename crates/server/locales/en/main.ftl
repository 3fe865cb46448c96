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
