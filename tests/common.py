from odoo.tests import new_test_user


def make_users(env):
    """One user per role the connector distinguishes, named after it."""
    return {
        "employee": new_test_user(env, "jibble_employee", groups="base.group_user"),
        "officer": new_test_user(
            env,
            "jibble_officer",
            groups="base.group_user,hr_attendance.group_hr_attendance_officer",
        ),
        "attendance_admin": new_test_user(
            env,
            "jibble_attendance_admin",
            groups="base.group_user,hr_attendance.group_hr_attendance_manager",
        ),
        "system_admin": new_test_user(
            env,
            "jibble_system_admin",
            groups="base.group_user,base.group_system,hr_attendance.group_hr_attendance_manager",
        ),
    }


def time_entry(entry_id, person_id, entry_type, time, **extra):
    """A Jibble TimeEntry as the API and the webhook carry it."""
    return {
        "id": entry_id,
        "personId": person_id,
        "type": entry_type,
        "time": time,
        "status": "Active",
        "activityId": None,
        "projectId": None,
        "locationId": None,
        **extra,
    }
