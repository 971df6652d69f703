# Written by hand (DOT's swappable models named through oauth2_settings, as in 0001 and 0006):
# richer pushed requests (RFC 9396, RFC 9126 §2.4, per-client request_uri lifetime).

import django.core.validators
import django.db.models.deletion
from django.db import migrations, models
from oauth2_provider.settings import oauth2_settings

import django_par.models


class Migration(migrations.Migration):
    dependencies = [
        ("django_par", "0007_overview_index"),
        migrations.swappable_dependency(oauth2_settings.ACCESS_TOKEN_MODEL),
        migrations.swappable_dependency(oauth2_settings.GRANT_MODEL),
        migrations.swappable_dependency(oauth2_settings.REFRESH_TOKEN_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="clientmetadata",
            name="authorization_details_types",
            field=models.JSONField(
                blank=True,
                default=list,
                help_text='The authorization_details types (RFC 9396) this client may request, a JSON list: ["payment_initiation"].',
                validators=[django_par.models.validate_authorization_details_types],
            ),
        ),
        migrations.AddField(
            model_name="clientmetadata",
            name="allow_unregistered_redirect_uris",
            field=models.BooleanField(
                default=False,
                help_text="Let this confidential client push a redirect_uri it has not registered (RFC 9126 §2.4); "
                "needs the server setting ALLOW_UNREGISTERED_REDIRECT_URIS.",
            ),
        ),
        migrations.AddField(
            model_name="clientmetadata",
            name="unregistered_redirect_uri_hosts",
            field=models.TextField(
                blank=True,
                help_text="Hosts such a pushed redirect_uri may name, separated by spaces: app.example.com, or "
                "*.example.com for its subdomains; blank: any host.",
                validators=[django_par.models.validate_host_patterns],
            ),
        ),
        migrations.AddField(
            model_name="clientmetadata",
            name="request_uri_lifetime",
            field=models.PositiveIntegerField(
                blank=True,
                null=True,
                help_text="Seconds this client's request_uri values stay usable for a first use; blank: REQUEST_URI_LIFETIME.",
                validators=[
                    django.core.validators.MinValueValidator(5),
                    django.core.validators.MaxValueValidator(3600),
                ],
            ),
        ),
        migrations.CreateModel(
            name="AuthorizationDetails",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("details", models.JSONField(help_text="The authorization_details array, as approved.")),
                (
                    "access_token",
                    models.OneToOneField(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="par_%(class)s",
                        to=oauth2_settings.ACCESS_TOKEN_MODEL,
                    ),
                ),
                (
                    "grant",
                    models.OneToOneField(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="par_%(class)s",
                        to=oauth2_settings.GRANT_MODEL,
                    ),
                ),
                (
                    "refresh_token",
                    models.OneToOneField(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="par_%(class)s",
                        to=oauth2_settings.REFRESH_TOKEN_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "authorization details",
                "verbose_name_plural": "authorization details",
            },
        ),
    ]
