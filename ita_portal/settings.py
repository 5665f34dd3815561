"""Settings for the ITA Portal. One file; every deploy-specific value comes
from the environment, and the defaults let a fresh checkout run on SQLite."""

import base64
import binascii
import hashlib
import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote, urlparse

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name, default):
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {raw!r}")


def env_list(name, default):
    raw = os.environ.get(name)
    if raw is None:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_int(name, default):
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, got {raw!r}") from None


def database_from_url(url):
    """Parse DATABASE_URL: sqlite:///relative/or/absolute.db or postgres://user:pw@host:port/name."""
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        # sqlite:///db.sqlite3 is relative to the project, sqlite:////srv/ita.db absolute.
        path = parsed.path[1:]
        name = path if os.path.isabs(path) else str(BASE_DIR / path)
        # WAL lets pages read while a background import or render writes.
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": name,
            "OPTIONS": {"init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"},
        }
    if parsed.scheme in ("postgres", "postgresql", "pgsql"):
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parsed.path.lstrip("/")),
            "USER": unquote(parsed.username or ""),
            "PASSWORD": unquote(parsed.password or ""),
            "HOST": parsed.hostname or "",
            "PORT": str(parsed.port or ""),
            "CONN_MAX_AGE": 60,
        }
    raise ImproperlyConfigured(f"DATABASE_URL scheme {parsed.scheme!r} is not supported")


DEBUG = env_bool("DJANGO_DEBUG", True)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DJANGO_DEBUG=0")
    SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"
# Encrypts agencies' signing-certificate passwords in the database (ita_portal.signing_secrets):
# a Fernet key, 32 random bytes in url-safe base64. It lives only in the environment, so a
# database backup alone cannot sign as an agency; keep a copy of it apart from the backups
# (without it the stored passwords must be typed again). In debug (demo, tests) a key derived
# from SECRET_KEY stands in for it.
SIGNING_SECRET_KEY = os.environ.get("SIGNING_SECRET_KEY", "").strip()
if not SIGNING_SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SIGNING_SECRET_KEY must be set when DJANGO_DEBUG=0 (it encrypts the signing certificates' "
            "passwords); generate one with: python3 -c 'import base64, os; "
            "print(base64.urlsafe_b64encode(os.urandom(32)).decode())'"
        )
    SIGNING_SECRET_KEY = base64.urlsafe_b64encode(
        hashlib.sha256(b"ita-portal signing password key (development only)\0" + SECRET_KEY.encode()).digest()
    ).decode()
try:
    _signing_key_bytes = len(base64.urlsafe_b64decode(SIGNING_SECRET_KEY.encode("ascii")))
except (binascii.Error, ValueError):
    _signing_key_bytes = 0
if _signing_key_bytes != 32 or len(SIGNING_SECRET_KEY) != 44:
    raise ImproperlyConfigured("SIGNING_SECRET_KEY must be 32 bytes in url-safe base64 (44 characters)")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    # django.contrib.admin with the portal's site (ita_portal/admin_site.py: the side menu remembered per user).
    "ita_portal.admin_site.PortalAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "import_export",
    "simple_history",
    "axes",
    "django_tasks",
    "django_tasks_db",
    "ita_portal",
    "assessments",
    "plans",
]

MIDDLEWARE = [
    # First: every response, redirects and errors included, carries the X-Request-ID of its log lines.
    "ita_portal.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "ita_portal.middleware.ThaiFirstMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes asks: it answers a locked-out login before the view runs.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "ita_portal.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "ita_portal.context_processors.roles",
            ],
        },
    },
]

WSGI_APPLICATION = "ita_portal.wsgi.application"

DATABASES = {"default": database_from_url(os.environ.get("DATABASE_URL", "sqlite:///db.sqlite3"))}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "th"
LANGUAGES = [("th", "ไทย"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Bangkok"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if env_bool("DJANGO_STATIC_MANIFEST", not DEBUG)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))

# Uploads are refused above this size (CSV/XLSX imports, images, evidence).
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

IMPORT_EXPORT_USE_TRANSACTIONS = True
IMPORT_EXPORT_SKIP_ADMIN_LOG = False

# Background work (bulk rendering, large imports) runs through the database: no extra
# server on SQLite, and workers on several machines against PostgreSQL.
TASKS = {"default": {"BACKEND": os.environ.get("TASKS_BACKEND", "django_tasks_db.DatabaseBackend")}}
# Render documents in the background when their data changes (plans.prerender), so a click
# serves stored bytes; off, a download not yet rendered is rendered by the worker on request.
DOCUMENTS_RENDER_AHEAD = env_bool("DOCUMENTS_RENDER_AHEAD", True)

# Login throttling: lock a username from one address, not a whole office behind one NAT,
# and not a username everywhere (anyone could lock the mayor out). Locked out for
# AXES_COOLOFF_MINUTES after AXES_FAILURE_LIMIT failures; the page is ita_portal.views.locked_out.
AXES_ENABLED = env_bool("AXES_ENABLED", True)
# Confirmed admin imports larger than this many figures run as a background task.
IMPORT_SYNC_MAX_ROWS = env_int("IMPORT_SYNC_MAX_ROWS", 2000)
# What a score import file may hold (assessments.resources.FileLimits), checked while it is
# read: the defaults admit the national question-level file (507,337 rows in the long layout).
IMPORT_MAX_FILE_BYTES = env_int("IMPORT_MAX_FILE_BYTES", 128 * 1024 * 1024)
IMPORT_MAX_ROWS = env_int("IMPORT_MAX_ROWS", 600_000)
IMPORT_MAX_COLUMNS = env_int("IMPORT_MAX_COLUMNS", 200)
IMPORT_MAX_CELL_CHARS = env_int("IMPORT_MAX_CELL_CHARS", 1000)
IMPORT_MAX_LINE_CHARS = env_int("IMPORT_MAX_LINE_CHARS", 64 * 1024)
IMPORT_MAX_XLSX_INFLATED_BYTES = env_int("IMPORT_MAX_XLSX_INFLATED_BYTES", 512 * 1024 * 1024)
IMPORT_MAX_XLSX_RATIO = env_int("IMPORT_MAX_XLSX_RATIO", 100)
IMPORT_MAX_XLSX_MEMBERS = env_int("IMPORT_MAX_XLSX_MEMBERS", 200)

# Bulk rendering runs WeasyPrint in this many processes (0 = in the task's own process).
BULK_RENDER_PROCESSES = env_int("BULK_RENDER_PROCESSES", 2)

AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "ita_portal.views.locked_out"
AXES_COOLOFF_MESSAGE = "ระงับการเข้าสู่ระบบชั่วคราว เนื่องจากใส่รหัสผ่านผิดหลายครั้ง กรุณารอแล้วลองใหม่"
# Number of reverse proxies in front of gunicorn (nginx alone: 1). With 0 the client address is
# REMOTE_ADDR; otherwise it is read from X-Forwarded-For, counting PROXY_COUNT entries from the
# right (the ones our proxies appended), so a client cannot choose its address by sending the
# header itself. django-axes would use its AXES_IPWARE_* settings only with django-ipware
# installed, which it is not, so the address comes from ita_portal.views.client_ip.
PROXY_COUNT = env_int("PROXY_COUNT", 0)
AXES_CLIENT_IP_CALLABLE = "ita_portal.views.client_ip"

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Uploaded files (signatures, evidence, signed PDFs, certificates) are readable by the app's
# user only; they are served through views that check access, never by the web server.
FILE_UPLOAD_PERMISSIONS = 0o640
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o750
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    # A monitor may call gunicorn directly over HTTP.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    LANGUAGE_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
    if not SECURE_HSTS_PRELOAD:
        # Preloading is a decision for the owner of the registered domain (e.g. example.go.th),
        # not for a portal on one of its subdomains; off unless SECURE_HSTS_PRELOAD=1.
        SILENCED_SYSTEM_CHECKS = ["security.W021"]

# The address printed in QR codes and links of signed documents. In production it defaults to
# the first CSRF_TRUSTED_ORIGINS entry, and it must be https.
PUBLIC_BASE_URL = os.environ.get(
    "PUBLIC_BASE_URL", CSRF_TRUSTED_ORIGINS[0] if CSRF_TRUSTED_ORIGINS and not DEBUG else "http://127.0.0.1:8000"
).rstrip("/")
# With DJANGO_DEBUG=0 nobody may sign while PUBLIC_BASE_URL is a local address (localhost,
# 127.0.0.1): plans.announcement.public_address_problem. Apart from DEBUG, which tests turn off.
PUBLIC_BASE_URL_REQUIRED = not DEBUG
if not DEBUG and not PUBLIC_BASE_URL.startswith("https://"):
    raise ImproperlyConfigured(
        "PUBLIC_BASE_URL must be the portal's https:// address when DJANGO_DEBUG=0 "
        f"(it is printed in the QR code of signed documents), got {PUBLIC_BASE_URL!r}"
    )

# Logging: everything at LOG_LEVEL and above goes to stderr, which systemd keeps in the journal
# (`journalctl -u ita-portal`). A 500 leaves its traceback there, with the request id (also sent
# as the X-Request-ID header and shown on the error page) and the user's id; so do refused
# requests (4xx) and login lock-outs, as warnings. The same with DJANGO_DEBUG=0 and 1;
# Django's e-mails to ADMINS are not used. LOG_LEVEL=INFO adds every login.
LOG_LEVEL = os.environ.get("LOG_LEVEL", "WARNING").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_context": {"()": "ita_portal.middleware.RequestContextFilter"}},
    "formatters": {
        "portal": {"format": "%(levelname)s %(name)s [request_id=%(request_id)s user_id=%(user_id)s] %(message)s"},
    },
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stderr",
            "filters": ["request_context"],
            "formatter": "portal",
        },
    },
    "root": {"handlers": ["stderr"], "level": LOG_LEVEL},
    "loggers": {
        # Replaces Django's defaults (console only with DEBUG, mail_admins only without):
        # its records go up to the root handler above, in both modes.
        "django": {"handlers": [], "level": LOG_LEVEL, "propagate": True},
    },
}

# E-mail: notifications to the members who must act next on a plan (plans/notifications.py) and
# password reset links. Without
# EMAIL_HOST the messages are printed on the console; with it they go out over SMTP.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    if "EMAIL_USE_TLS" in os.environ:
        raise ImproperlyConfigured("Set only one of EMAIL_USE_TLS and EMAIL_USE_SSL")
    EMAIL_USE_TLS = False  # SSL asked for explicitly (port 465): the TLS default gives way
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "ITA Portal <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# A password reset link works for this long (Django's default is 3 days).
PASSWORD_RESET_TIMEOUT = env_int("PASSWORD_RESET_TIMEOUT_HOURS", 24) * 60 * 60

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "plans:my_work"
LOGOUT_REDIRECT_URL = "login"
