"""``python -m trygghetskarta`` is the ``trygghetskarta`` command."""

from trygghetskarta.cli import app

app(prog_name="trygghetskarta")
