"""import changes (for undoing updates), postcode lookup, and which import created a network, survey or question

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 09:00:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

_CREATED_BY = ("network", "survey", "question")


def upgrade() -> None:
    op.create_table('importchange',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('import_id', sa.Integer(), nullable=False),
    sa.Column('table_name', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('field_name', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('old_value', sa.Text(), nullable=True),
    sa.Column('new_value', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['import_id'], ['importlog.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('importchange', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_importchange_import_id'), ['import_id'], unique=False)

    op.create_table('postcodearea',
    sa.Column('postcode', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('lsoa_code', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.PrimaryKeyConstraint('postcode')
    )
    with op.batch_alter_table('postcodearea', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_postcodearea_lsoa_code'), ['lsoa_code'], unique=False)

    for table in _CREATED_BY:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('import_id', sa.Integer(), nullable=True))
            batch_op.create_foreign_key(f'fk_{table}_import_id', 'importlog', ['import_id'], ['id'])


def downgrade() -> None:
    for table in _CREATED_BY:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(f'fk_{table}_import_id', type_='foreignkey')
            batch_op.drop_column('import_id')
    with op.batch_alter_table('postcodearea', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_postcodearea_lsoa_code'))
    op.drop_table('postcodearea')
    with op.batch_alter_table('importchange', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_importchange_import_id'))
    op.drop_table('importchange')
