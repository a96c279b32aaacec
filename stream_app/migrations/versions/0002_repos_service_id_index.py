"""index repos.service_id

SyncRepos matches a repo moved between owners by its provider id alone.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_repos_service_id", "repos", ["service_id"])


def downgrade() -> None:
    op.drop_index("ix_repos_service_id", table_name="repos")
