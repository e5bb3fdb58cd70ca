"""covering indexes for the survey reach and network growth queries (read from the index alone)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 09:00:00
"""
from alembic import op


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

INDEXES = {
    "ix_response_survey_area": ("surveyresponse", ["survey_id", "lsoa_code", "icp_id"]),
    "ix_response_survey_age": ("surveyresponse", ["survey_id", "birth_year", "submitted_at", "lsoa_code", "icp_id"]),
    "ix_membership_dates_area": ("networkmembership", ["joined_on", "left_on", "network_id", "lsoa_code", "icp_id"]),
}


def upgrade() -> None:
    for name, (table, columns) in INDEXES.items():
        op.create_index(name, table, columns, unique=False)


def downgrade() -> None:
    for name, (table, _) in INDEXES.items():
        op.drop_index(name, table_name=table)
