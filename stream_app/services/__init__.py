"""Business logic of the tasks: async functions taking the record's session first.

Services run inside the transaction the pipeline opened for the record: they may flush, but
never commit, roll back or close the session, and they never import faust.
"""
