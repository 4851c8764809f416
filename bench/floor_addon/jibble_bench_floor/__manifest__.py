{
    "name": "Jibble Connector: benchmark floor",
    "summary": "Odoo's own attendance work for one event, without the connector's: a benchmark aid",
    "version": "18.0.1.0.0",
    "license": "LGPL-3",
    "author": "Jibble Connector team",
    "depends": ["jibble_connector"],
    "installable": True,
}
