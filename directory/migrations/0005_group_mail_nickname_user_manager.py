# Group.mail_nickname (Graph mailNickname) and User.manager (Graph manager, issue 9b).

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('directory', '0004_user_profile_properties'),
    ]

    operations = [
        migrations.AddField(
            model_name='group',
            name='mail_nickname',
            field=models.CharField(blank=True, max_length=64, verbose_name='mail nickname'),
        ),
        migrations.AddField(
            model_name='user',
            name='manager',
            field=models.ForeignKey(blank=True, editable=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='direct_reports', to='directory.user', verbose_name='manager'),
        ),
    ]
