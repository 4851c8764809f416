/** @odoo-module **/

import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("jibble_connector_settings_tour", {
    steps: () => [
        {
            content: "Turn Jibble sync on",
            trigger: "div[name=jibble_sync_enabled] input[type=checkbox]",
            run: "click",
        },
        {
            content: "Fill the API key ID",
            trigger: "div[name=jibble_client_id] input",
            run: "edit sim-client",
        },
        {
            content: "Fill the API key secret",
            trigger: "div[name=jibble_client_secret] input",
            run: "edit sim-secret",
        },
        {
            content: "Mark the page so that its reload after saving can be seen",
            trigger: ".o_form_button_save",
            run() {
                document.body.classList.add("o_jibble_before_save");
            },
        },
        {
            content: "Save the settings",
            trigger: ".o_form_button_save",
            run: "click",
        },
        {
            content: "Test the connection once the saved settings are reloaded",
            trigger: "body:not(.o_jibble_before_save) button[name=action_jibble_test_connection]",
            run: "click",
        },
        {
            content: "See that Jibble answered",
            trigger: ".o_notification:contains(Connected to Simulated Org)",
        },
        {
            content: "Sync now",
            trigger: "button[name=action_jibble_sync_now]",
            run: "click",
        },
        {
            content: "Told that the sync runs in the background",
            trigger: ".o_notification:contains(in the background)",
        },
        {
            content: "Open the sync log",
            trigger: "button:contains(Sync log)",
            run: "click",
        },
        {
            content: "The connection test is logged",
            trigger: ".o_data_row:contains(Connected to Simulated Org)",
        },
    ],
});

registry.category("web_tour.tours").add("jibble_connector_employee_tour", {
    steps: () => [
        {
            content: "Open the employee's settings tab",
            trigger: "a.nav-link:contains(Settings)",
            run: "click",
        },
        {
            content: "Switch off the Jibble sync",
            trigger: "div[name=jibble_sync_enabled] input[type=checkbox]:checked",
            run: "click",
        },
        {
            content: "Save the employee",
            trigger: ".o_form_button_save:enabled",
            run: "click",
        },
        {
            content: "Saved with the sync off",
            trigger: ".o_form_saved div[name=jibble_sync_enabled] input[type=checkbox]:not(:checked)",
        },
    ],
});
