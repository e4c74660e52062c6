"""The Redis broker transport the workers use: kombu's, with one failure mode turned into the error it is.

Celery 5.7 / kombu 5.7: when Redis goes away while a worker holds an unacknowledged message (``acks_late``:
every task while it runs), the consumer collects the lost connection, which detaches the transport from it,
and then closes the channel, which tries to give the unacknowledged message back to Redis. Building a Redis
client for that reads the detached connection's address, and ``AttributeError: 'NoneType' object has no
attribute 'hostname'`` is not among the connection errors the consumer ignores: the worker stops for good
("Unrecoverable error"), and everything published after the outage waits for a worker to be started by hand
(bench/drills/redis_down.py: one run of ten sent 33 of 94 e-mails, the rest left pending with no worker).
Reproduced outside the project with a bare Celery app and one
sleeping task (bench/README.md, "## invitations.py").

Here a channel whose connection was detached says so with a broker connection error: the consumer ignores
it, as it ignores every other error of a lost broker, and reconnects when Redis is back. Nothing is lost by
not restoring: the message is in Redis's unacknowledged set (restored after the visibility timeout) or
Redis lost it, and the outbox's sweep finds every message still pending either way.
"""

from kombu.transport import redis
from redis.exceptions import ConnectionError as RedisConnectionError


class Channel(redis.Channel):
    def _connparams(self, asynchronous=False):
        if self.connection.client is None:  # the transport was detached from its (lost) connection
            raise RedisConnectionError("the broker connection was lost and closed")
        return super()._connparams(asynchronous=asynchronous)


class Transport(redis.Transport):
    Channel = Channel
