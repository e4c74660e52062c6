from django.contrib.auth.hashers import Argon2PasswordHasher


class FastArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2id with test-sized costs: the same algorithm and encoding as production, so tests still
    prove hashes are Argon2, at a fraction of the memory and time per hash."""

    time_cost = 1
    memory_cost = 1024
    parallelism = 1


class CountingArgon2PasswordHasher(FastArgon2PasswordHasher):
    """The same real hasher, counting how often it hashes (``encode``: new hashes and the dummy hash
    run for unknown users or unusable passwords) and verifies (``verify``), so tests can prove that
    every password attempt costs the same work. Use it as the only hasher, so it both makes and checks
    every hash."""

    calls = 0

    def encode(self, password, salt):
        type(self).calls += 1
        return super().encode(password, salt)

    def verify(self, password, encoded):
        type(self).calls += 1
        return super().verify(password, encoded)
