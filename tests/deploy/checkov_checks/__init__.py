"""The platform's own checkov checks (wecare_iam.py); checkov loads a folder of checks only as a package."""
