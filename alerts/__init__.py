"""The alert stage: price events -> watches -> outbox rows -> rendered email -> SES.

The HTTP service uses two functions from here: ``alerts.outbox.queue_transactional_email`` and
``alerts.outbox.enqueue_send``; its links come from ``alerts.links``.
"""
