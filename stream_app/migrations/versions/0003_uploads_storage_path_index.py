"""index uploads.storage_path

FlushRepo and DeleteOwner keep a raw upload that another repo's upload row also names.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_uploads_storage_path", "uploads", ["storage_path"])


def downgrade() -> None:
    op.drop_index("ix_uploads_storage_path", table_name="uploads")
