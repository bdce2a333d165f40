import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "anshun.settings.production")
application = get_wsgi_application()

# Import the URLconf, compile the first templates and load the catalogues now, not on the first
# person's request (anshun/warmup.py): every worker starts warm.
from anshun.warmup import warm_up  # noqa: E402

warm_up()
