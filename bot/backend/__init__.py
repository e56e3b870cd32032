"""The stand-in government backend (applications, people, licences, SMS) on :8700."""
