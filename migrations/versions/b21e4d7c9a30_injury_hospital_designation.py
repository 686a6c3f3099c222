"""injury_hospital: 定点医疗机构资格 of a hospital registered by 马上注册, 待审核 until the
agency of its region approves it (issue 21 item 1)

Revision ID: b21e4d7c9a30
Revises: a1d5e0c3b7f2
Create Date: 2026-12-07 05:50:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b21e4d7c9a30'
down_revision = 'a1d5e0c3b7f2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('injury_hospital',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('contact', sa.String(length=64), nullable=True),
    sa.Column('phone', sa.String(length=32), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('province_code', sa.String(length=6), nullable=True),
    sa.Column('city_code', sa.String(length=6), nullable=True),
    sa.Column('county_code', sa.String(length=6), nullable=True),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('organization_id')
    )
    with op.batch_alter_table('injury_hospital', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_injury_hospital_city_code'), ['city_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_injury_hospital_county_code'), ['county_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_injury_hospital_province_code'), ['province_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_injury_hospital_state'), ['state'], unique=False)


def downgrade():
    with op.batch_alter_table('injury_hospital', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_injury_hospital_state'))
        batch_op.drop_index(batch_op.f('ix_injury_hospital_province_code'))
        batch_op.drop_index(batch_op.f('ix_injury_hospital_county_code'))
        batch_op.drop_index(batch_op.f('ix_injury_hospital_city_code'))
    op.drop_table('injury_hospital')
