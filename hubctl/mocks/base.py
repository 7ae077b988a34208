"""Mock answers shared by every stack."""

from hubctl.mocks import register_state

register_state("random:index/randomPassword:RandomPassword", lambda a: {"result": "offline-password"})
register_state("random:index/randomString:RandomString", lambda a: {"result": "offlinestring"})
