"""Deployment: the processes as deployed (services.py) rendered into kustomize and CloudFormation (render.py)."""
