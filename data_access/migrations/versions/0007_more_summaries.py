"""question, free-text and membership cells kept with the data: memberships per network x channel x ICP area x
month joined x month left x still a member 6 and 12 months on; respondents per question x set of values chosen x cell, and
free-text answers per question x set of themes mentioned x ICP area (read by answers.question_cells and
free_text_cells); the answer summaries by raking cell and by group (the latter never read) go, their counts being
GROUP BYs over the new cells

Revision ID: 0007_more_summaries
Revises: 0006
Create Date: 2026-12-01 22:20:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0007_more_summaries'
down_revision = '0006'
branch_labels = None
depends_on = None

_OLD = ("summaryanswercell", "summaryquestioncell", "summaryanswergroup", "summaryquestiongroup")


def upgrade() -> None:
    for name in _OLD:
        op.drop_table(name)  # their indexes go with them
    op.create_table('summaryquestionvalue',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('survey_id', sa.Integer(), nullable=False),
    sa.Column('question_id', sa.Integer(), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.Column('bit', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('summaryquestionvalue', schema=None) as batch_op:
        batch_op.create_index('ix_summaryquestionvalue_question', ['question_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_summaryquestionvalue_survey_id'), ['survey_id'], unique=False)

    op.create_table('summarychoicecell',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('survey_id', sa.Integer(), nullable=False),
    sa.Column('question_id', sa.Integer(), nullable=False),
    sa.Column('options', sa.BigInteger(), nullable=False),
    sa.Column('age_band', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('sex', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('ethnic_group', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('disability', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('imd_quintile', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('lsoa_icp', sa.Integer(), nullable=True),
    sa.Column('icp_key', sa.Integer(), nullable=True),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('summarychoicecell', schema=None) as batch_op:
        batch_op.create_index('ix_summarychoicecell_question', ['question_id', 'icp_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_summarychoicecell_survey_id'), ['survey_id'], unique=False)

    op.create_table('summaryfreetextcell',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('survey_id', sa.Integer(), nullable=False),
    sa.Column('question_id', sa.Integer(), nullable=False),
    sa.Column('themes', sa.BigInteger(), nullable=False),
    sa.Column('icp_key', sa.Integer(), nullable=True),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('summaryfreetextcell', schema=None) as batch_op:
        batch_op.create_index('ix_summaryfreetextcell_question', ['question_id', 'icp_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_summaryfreetextcell_survey_id'), ['survey_id'], unique=False)

    op.create_table('summarymembershipcell',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('network_id', sa.Integer(), nullable=False),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('icp_key', sa.Integer(), nullable=True),
    sa.Column('joined_month', sa.Date(), nullable=False),
    sa.Column('left_month', sa.Date(), nullable=True),
    sa.Column('still_6', sa.Integer(), nullable=False),
    sa.Column('still_12', sa.Integer(), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('summarymembershipcell', schema=None) as batch_op:
        batch_op.create_index('ix_summarymembershipcell_network', ['network_id', 'icp_key', 'joined_month'],
                              unique=False)

    from data_access import summaries

    summaries.refresh(op.get_bind())  # every summary of the records already in the store


def downgrade() -> None:
    for name in ('summarymembershipcell', 'summaryfreetextcell', 'summarychoicecell', 'summaryquestionvalue'):
        op.drop_table(name)
    for value, kind in ((True, 'summaryanswer'), (False, 'summaryquestion')):
        extra = [sa.Column('value', sa.Text(), nullable=False)] if value else []
        op.create_table(f'{kind}cell',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('survey_id', sa.Integer(), nullable=False),
        sa.Column('question_id', sa.Integer(), nullable=False),
        *extra,
        sa.Column('age_band', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column('sex', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column('imd_quintile', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column('icp_key', sa.Integer(), nullable=True),
        sa.Column('n', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id')
        )
        with op.batch_alter_table(f'{kind}cell', schema=None) as batch_op:
            batch_op.create_index(f'ix_{kind}cell_question', ['question_id', 'icp_key'], unique=False)
            batch_op.create_index(batch_op.f(f'ix_{kind}cell_survey_id'), ['survey_id'], unique=False)
        op.create_table(f'{kind}group',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('survey_id', sa.Integer(), nullable=False),
        sa.Column('question_id', sa.Integer(), nullable=False),
        *extra,
        sa.Column('dimension', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column('group_name', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column('icp_key', sa.Integer(), nullable=True),
        sa.Column('n', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id')
        )
        with op.batch_alter_table(f'{kind}group', schema=None) as batch_op:
            batch_op.create_index(f'ix_{kind}group_question', ['question_id', 'dimension', 'icp_key'], unique=False)
            batch_op.create_index(batch_op.f(f'ix_{kind}group_survey_id'), ['survey_id'], unique=False)
    # the old tables are empty: mark the summaries as of no data version, so the counting functions read the records
    op.execute("UPDATE setting SET value = '' WHERE key = 'summaries_of'")
