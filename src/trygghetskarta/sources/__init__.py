"""One module per feed: a pure ``parse`` that reads live and archived input alike.

``polisen`` — police events in the polisen.se API format.
"""
