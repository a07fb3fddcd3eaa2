"""`python -m qbo_integration.sandbox --port 8765 --realms 2 --auto-approve`"""

import sys

from . import cli_main

sys.exit(cli_main())
