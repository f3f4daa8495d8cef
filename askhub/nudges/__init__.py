"""Delivery only: the outbox, the channels, and the dispatch tick. Knows nothing of calls;
the call lifecycle (``askhub/calls/scheduled.py``) decides what to send and uses the outbox."""
