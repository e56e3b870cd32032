"""Deployment files: the nginx edge (deploy/nginx/)."""
