"""Forms of the public pages: starting a race, filtering the job list and the leaderboard.

The race form accepts a repository URL, a ref, the number of runs (1-10) and warm-ups (0-3),
the cache policy and the scenario;
the operator fields of a job (commands, mode, timeout) are never taken from the public.
"""

import datetime

from django import forms
from django.core.exceptions import ValidationError

from jobs.models import CacheMode, JobStatus, Scenario
from jobs.submissions.validation import (
    AUTO,
    MAX_RUNS,
    MAX_URL_LENGTH,
    MAX_WARMUPS,
    choose_ref,
    validate_ref,
    validate_repository,
    validate_runs,
)


def runs_field(label, low, high, note):
    """An optional number of runs a side, from `low` to `high` (said in its help text)."""
    return forms.IntegerField(
        label=label,
        required=False,
        min_value=low,
        max_value=high,
        help_text=f"{low} to {high} per side{note}",
    )


class RaceForm(forms.Form):
    repository_url = forms.CharField(
        label="Repository URL",
        max_length=MAX_URL_LENGTH,
        # Text, not type=url: "github.com/OWNER/REPO" (no scheme) is accepted.
        widget=forms.TextInput(
            attrs={
                "placeholder": "https://github.com/spring-projects/spring-petclinic",
                "autocomplete": "url",
                "spellcheck": "false",
                "inputmode": "url",
            }
        ),
        error_messages={"required": "Enter a repository URL."},
    )
    ref = forms.CharField(
        label="Branch, tag or commit (optional)",
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"placeholder": "main", "spellcheck": "false"}),
    )
    iterations = forms.ChoiceField(
        label="Measured runs",
        required=False,
        choices=[(AUTO, "Auto"), *((str(n), str(n)) for n in range(1, MAX_RUNS + 1))],
        help_text="Auto adds runs until the verdict is clear (3 to 10 per side); a number "
        "runs exactly that many. More runs give a narrower interval.",
        error_messages={
            "invalid_choice": f"Measured runs must be Auto or a whole number from 1 to {MAX_RUNS}."
        },
    )
    warmups = runs_field("Warm-up runs", 0, MAX_WARMUPS, ", not measured.")
    cache = forms.ChoiceField(
        label="Dependency cache",
        choices=CacheMode.choices,
        initial=CacheMode.WARM,
        required=False,
        help_text="Cold: downloads are part of the measured time.",
    )
    scenario = forms.ChoiceField(
        label="Scenario", choices=Scenario.choices, initial=Scenario.CLEAN, required=False
    )
    # Build even when a finished race of this repository exists ("race again" sends it too).
    force = forms.BooleanField(
        label="Force a fresh race (do not show an earlier result)", required=False
    )

    def clean_repository_url(self):
        url, name, self.url_ref = validate_repository(self.cleaned_data["repository_url"])
        self.repository_name = name
        return url

    def clean_iterations(self):
        value = self.cleaned_data.get("iterations")
        if not value:
            return None
        return value if value == AUTO else int(value)

    def clean_ref(self):
        return validate_ref(self.cleaned_data.get("ref", ""))

    def clean(self):
        data = super().clean()
        # A ref named by the pasted URL (/tree/REF) fills an empty ref field.
        if "ref" in data:
            try:
                data["ref"] = choose_ref(getattr(self, "url_ref", ""), data["ref"])
            except ValidationError as error:
                self.add_error("ref", error)
        if "iterations" in data and "warmups" in data:
            data["iterations"], data["warmups"] = validate_runs(data["iterations"], data["warmups"])
        return data


class JobFilterForm(forms.Form):
    q = forms.CharField(label="Repository", required=False, max_length=200)
    status = forms.ChoiceField(
        label="Status", required=False, choices=[("", "All statuses"), *JobStatus.choices]
    )


ANY_KIND = "any"
# The leaderboard's kind of race when the visitor names none.
KIND_FILTERS = {"scenario": Scenario.CLEAN.value, "cache": CacheMode.WARM.value}
DEFAULT_LEADERBOARD_FILTERS = dict(KIND_FILTERS)


class LeaderboardFilterForm(forms.Form):
    q = forms.CharField(label="Repository", required=False, max_length=200)
    since = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label="To", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    successful = forms.BooleanField(label="Only successful races", required=False)
    include_demo = forms.BooleanField(label="Include demo data", required=False)
    # One kind of race unless asked otherwise (absent: warm and clean, what a submission races
    # by default): a no-op rebuild's or a cold build's speedup answers another question, and
    # the headline must not pool them with clean builds. "any" pools them on purpose.
    scenario = forms.ChoiceField(
        label="Scenario", required=False, choices=[*Scenario.choices, (ANY_KIND, "Any scenario")]
    )
    cache = forms.ChoiceField(
        label="Cache",
        required=False,
        choices=[
            (CacheMode.WARM, CacheMode.WARM.label),
            (CacheMode.COLD, CacheMode.COLD.label),
            (ANY_KIND, "Any cache"),
        ],
    )

    def clean(self):
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            raise ValidationError("The start date must not be after the end date.")
        for name in ("since", "until"):
            value = data.get(name)
            if value and not datetime.date(1970, 1, 2) <= value <= datetime.date(9999, 1, 1):
                self.add_error(name, "Choose a date after 1970.")
        return data

    def filters(self):
        """The filters as plain values; the default kind of race when the form is invalid.
        A missing "scenario" or "cache" key means any (jobs/leaderboard/ranking.py)."""
        data = self.cleaned_data if self.is_valid() else {}
        filters = {key: value for key, value in data.items() if value and key not in KIND_FILTERS}
        for name, default in KIND_FILTERS.items():
            value = data.get(name) or default
            if value != ANY_KIND:
                filters[name] = value
        return filters
