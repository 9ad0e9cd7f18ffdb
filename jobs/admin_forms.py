"""The admin's forms: a job's change form (operator-only commands as JSON lists, never a
shell string; the same URL and ref checks as the public form) and the reason asked for when
races are taken off the leaderboard."""

from django import forms
from django.core.exceptions import ValidationError

from jobs.models import Job
from jobs.submissions import validation

MAX_COMMAND_ARGS = 200
MAX_COMMAND_ARG_LENGTH = 4000


def clean_command(value):
    """A custom build command: empty, or a non-empty JSON list of strings (no shell string)."""
    if value in (None, "", []):
        return None
    if not isinstance(value, list) or not all(isinstance(arg, str) for arg in value):
        raise ValidationError(
            'Enter a JSON list of strings, e.g. ["sh", "-c", "mvn -B package"].', code="invalid"
        )
    if len(value) > MAX_COMMAND_ARGS or any(len(arg) > MAX_COMMAND_ARG_LENGTH for arg in value):
        raise ValidationError("The command is too long.", code="too_long")
    if not value[0].strip() or any("\x00" in arg for arg in value):
        raise ValidationError(
            "The first item must name a program; no NUL characters.", code="invalid"
        )
    return value


class CommandField(forms.JSONField):
    """A custom command as JSON; an unset one shows as an empty box, not "null"."""

    def prepare_value(self, value):
        if value is None:
            return ""
        return super().prepare_value(value)


class JobAdminForm(forms.ModelForm):
    """Validates the repository URL like the public form; fills repository_name from it."""

    standard_cmd = CommandField(
        required=False, widget=forms.Textarea(attrs={"rows": 2, "cols": 80})
    )
    elide_cmd = CommandField(required=False, widget=forms.Textarea(attrs={"rows": 2, "cols": 80}))

    class Meta:
        model = Job
        fields = [
            "repository_url",
            "ref",
            "mode",
            "cache",
            "scenario",
            "iterations",
            "warmups",
            "timeout_seconds",
            "standard_cmd",
            "elide_cmd",
            "excluded_reason",
        ]
        # One line each: a URL and a ref are never multi-line.
        widgets = {
            "repository_url": forms.URLInput(attrs={"size": 80}),
            "ref": forms.TextInput(attrs={"size": 40}),
        }

    def clean_excluded_reason(self):
        return (self.cleaned_data.get("excluded_reason") or "").strip()[:2000]

    def clean_repository_url(self):
        url, self.repository_name, self.url_ref = validation.validate_repository(
            self.cleaned_data.get("repository_url")
        )
        return url

    def clean_ref(self):
        return validation.validate_ref(self.cleaned_data.get("ref"))

    def clean_standard_cmd(self):
        return clean_command(self.cleaned_data.get("standard_cmd"))

    def clean_elide_cmd(self):
        return clean_command(self.cleaned_data.get("elide_cmd"))

    def clean(self):
        data = super().clean()
        if "ref" in data:  # a ref named by the URL (/tree/REF) fills an empty ref field
            try:
                data["ref"] = validation.choose_ref(getattr(self, "url_ref", ""), data["ref"])
            except ValidationError as error:
                self.add_error("ref", error)
        return data

    def _post_clean(self):
        if hasattr(self, "repository_name"):
            self.instance.repository_name = self.repository_name
        super()._post_clean()


class ExclusionReasonForm(forms.Form):
    """The reason asked for by the bulk action "exclude from the leaderboard"."""

    reason = forms.CharField(
        max_length=2000,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80}),
        help_text="Shown on each race's page and kept in its exclusion history.",
    )
