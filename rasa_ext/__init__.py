"""Code that runs inside `rasa run`: patches and guards of Rasa's own server.

Each patch in `rasa_ext.patches` names the Rasa version it was written against and
refuses to apply to another (a Rasa upgrade must be a conscious step, not a silent
change of what the patch replaces)."""
