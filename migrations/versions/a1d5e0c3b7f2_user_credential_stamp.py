"""ab_user.auth_version: the credential stamp that ends a user's sessions and tokens when the
password changes, is reset or the account is disabled (app/security.py)

Revision ID: a1d5e0c3b7f2
Revises: 3e31dfdf8805
Create Date: 2026-12-07 04:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a1d5e0c3b7f2'
down_revision = '3e31dfdf8805'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('ab_user') as batch_op:
        batch_op.add_column(sa.Column('auth_version', sa.Integer(), server_default='0',
                                      nullable=False))


def downgrade():
    with op.batch_alter_table('ab_user') as batch_op:
        batch_op.drop_column('auth_version')
