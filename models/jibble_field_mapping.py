from odoo import _, api, fields, models, tools
from odoo.exceptions import ValidationError

# Jibble field -> (label, kind); the kinds say which Odoo field types can hold the value.
JIBBLE_FIELDS = {
    "note": ("Note", "text"),
    "clientType": ("Client type", "text"),
    "platform": ("Platform", "text"),
    "kioskId": ("Kiosk", "text"),
    "activity": ("Activity (name)", "text"),
    "project": ("Project (name)", "text"),
    "location": ("Location (name)", "text"),
    "activityId": ("Activity id", "text"),
    "projectId": ("Project id", "text"),
    "locationId": ("Location id", "text"),
    "localTime": ("Local time", "text"),
    "latitude": ("Latitude (coordinates)", "number"),
    "longitude": ("Longitude (coordinates)", "number"),
    "belongsToDate": ("Belongs to date", "date"),
    "createdAt": ("Recorded at", "text"),
    "isOffline": ("Offline", "flag"),
    "isManual": ("Manual", "flag"),
    "isAutomatic": ("Automatic", "flag"),
    "isEndOfDay": ("End of day", "flag"),
    "isLocked": ("Locked", "flag"),
    "isUnusual": ("Unusual", "flag"),
    "isOutsideGeofence": ("Outside geofence", "flag"),
}
COMPATIBLE_TYPES = {
    "text": ("char", "text"),
    "number": ("float", "monetary", "char"),
    "flag": ("boolean",),
    "date": ("date", "char"),
}
# Fields the connector writes itself: a mapping must not fight it.
RESERVED_FIELDS = {
    "employee_id",
    "check_in",
    "check_out",
    "in_mode",
    "out_mode",
    "sync_status",
}


class JibbleFieldMapping(models.Model):
    """Which Jibble value goes into which field of the attendances the connector writes."""

    _name = "jibble.field.mapping"
    _description = "Jibble Field Mapping"
    _order = "moment, id"

    jibble_field = fields.Selection(
        [(key, label) for key, (label, _kind) in JIBBLE_FIELDS.items()], required=True
    )
    moment = fields.Selection(
        [("in", "Clock-in"), ("out", "Clock-out")],
        required=True,
        default="in",
        help="The entry the value is taken from: the one that opened the attendance, or the "
        "one that closed it.",
    )
    attendance_field_id = fields.Many2one(
        "ir.model.fields",
        required=True,
        ondelete="cascade",
        domain=[("model", "=", "hr.attendance"), ("store", "=", True)],
    )
    active = fields.Boolean(default=True)

    @api.constrains("jibble_field", "attendance_field_id")
    def _check_compatible(self):
        for mapping in self:
            target = mapping.attendance_field_id
            label, kind = JIBBLE_FIELDS[mapping.jibble_field]
            if target.model != "hr.attendance":
                raise ValidationError(_("Map Jibble values onto fields of attendances."))
            field = self.env["hr.attendance"]._fields.get(target.name)
            if (
                target.name in RESERVED_FIELDS
                or target.name.startswith("jibble_")
                or (field is not None and field.compute and not field.inverse)
            ):
                raise ValidationError(
                    _(
                        "%s is written by the connector or computed by Odoo.",
                        target.field_description,
                    )
                )
            if target.ttype not in COMPATIBLE_TYPES[kind]:
                raise ValidationError(
                    _(
                        "%(field)s is a %(type)s field; Jibble's %(jibble)s needs a field of "
                        "type %(types)s.",
                        field=target.field_description,
                        type=target.ttype,
                        jibble=label,
                        types=", ".join(COMPATIBLE_TYPES[kind]),
                    )
                )

    @api.model_create_multi
    def create(self, vals_list):
        self.env.registry.clear_cache()
        return super().create(vals_list)

    def write(self, vals):
        self.env.registry.clear_cache()
        return super().write(vals)

    def unlink(self):
        self.env.registry.clear_cache()
        return super().unlink()

    @api.model
    @tools.ormcache()
    def _active_mappings(self):
        """(Jibble field, moment, attendance field name) of every active mapping; cached for
        every user alike, so read with the connector's rights."""
        mappings = self.sudo().search([])
        return tuple(
            (mapping.jibble_field, mapping.moment, mapping.attendance_field_id.name)
            for mapping in mappings
        )

    @api.model
    def _extras_of(self, parsed):
        """What the active mappings need of a parsed entry beyond the fields kept anyway."""
        wanted = {key for key, _moment, _name in self._active_mappings()}
        kept = {key: value for key, value in (parsed.extras or {}).items() if key in wanted}
        return kept or False

    @api.model
    def _value_of(self, entry, jibble_field):
        """The value of a Jibble field of a stored entry."""
        stored = {
            "note": entry.note,
            "clientType": entry.client_type,
            "kioskId": entry.kiosk_id,
            "activity": entry.activity,
            "project": entry.project,
            "location": entry.location,
            "activityId": entry.activity_id,
            "projectId": entry.project_id,
            "locationId": entry.location_id,
            "localTime": entry.local_time,
            "latitude": entry.latitude,
            "longitude": entry.longitude,
            "belongsToDate": entry.belongs_to_date,
        }
        if jibble_field in stored:
            return stored[jibble_field]
        return (entry.extra_values or {}).get(jibble_field, False)
