"""Trial conduct: randomisation, blinding, cohorts, dose-escalation rules, dropout."""
