/** @odoo-module **/

import { rpcBus } from "@web/core/network/rpc";
import { registry } from "@web/core/registry";

/**
 * Marks the page with `o_jibble_saved_<tag>` (or `o_jibble_save_failed_<tag>`) once the server
 * has answered the next `web_save` of `model`: a later step can wait for the record to be really
 * saved instead of guessing from buttons that come and go with the autosave.
 */
function watchNextSave(model, tag) {
    const onResponse = ({ detail }) => {
        const params = detail.data?.params || {};
        if (params.model === model && params.method === "web_save") {
            rpcBus.removeEventListener("RPC:RESPONSE", onResponse);
            const outcome = detail.error ? "save_failed" : "saved";
            document.body.classList.add(`o_jibble_${outcome}_${tag}`);
        }
    };
    rpcBus.addEventListener("RPC:RESPONSE", onResponse);
}

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
            // The toggle saves the employee by itself (boolean_toggle autosaves): no Save
            // button to press, and whether one shows for a moment depends on timing.
            content: "Switch off the Jibble sync",
            trigger: ".o_form_saved div[name=jibble_sync_enabled] input[type=checkbox]:checked",
            async run(helpers) {
                watchNextSave("hr.employee", "employee");
                await helpers.click();
            },
        },
        {
            content: "The server saved the employee, and the form shows it saved with the sync off",
            trigger:
                "body.o_jibble_saved_employee .o_form_saved " +
                "div[name=jibble_sync_enabled] input[type=checkbox]:not(:checked)",
        },
    ],
});

registry.category("web_tour.tours").add("jibble_connector_link_person_tour", {
    steps: () => [
        {
            content: "The Time Entries list opens on the held-back entries",
            trigger: ".o_searchview_facet:contains(Held back)",
        },
        {
            content: "The held entries show the Jibble person's name and email",
            trigger:
                ".o_data_row:has(td[name=person_name]:contains(Sam Stranger)) " +
                "td[name=person_email]:contains(sam@elsewhere.test)",
        },
        {
            content: "... and their code in Jibble",
            trigger:
                ".o_data_row:has(td[name=person_name]:contains(Sam Stranger)) " +
                "td[name=person_code]:contains(E0777)",
        },
        {
            content: "Select one of Sam's entries",
            trigger:
                ".o_data_row:has(td[name=person_name]:contains(Sam Stranger)) " +
                ".o_list_record_selector input:not(:checked)",
            run: "click",
        },
        {
            content: "Select Sam's other entry",
            trigger:
                ".o_data_row:has(td[name=person_name]:contains(Sam Stranger)) " +
                ".o_list_record_selector input:not(:checked)",
            run: "click",
        },
        {
            content: "Both entries are selected",
            trigger: ".o_list_selection_box:contains(selected) b:contains(/^2$/)",
        },
        {
            content: "Link them to an employee",
            trigger: ".o_list_selection_container button:contains(Link to employee)",
            run: "click",
        },
        {
            content: "The wizard shows the person, read-only",
            trigger: ".modal div[name=person_id]:contains(Sam Stranger):not(:has(input))",
        },
        {
            content: "... with their two held entries",
            trigger: ".modal div[name=held_entry_count]:contains(2)",
        },
        {
            content: "Look for the employee",
            trigger: ".modal div[name=employee_id] input",
            run: "edit Samuel",
        },
        {
            content: "Pick Samuel",
            trigger: ".modal div[name=employee_id] .ui-menu-item a:contains(Samuel)",
            run: "click",
        },
        {
            content: "Link",
            trigger: ".modal button[name=action_link]",
            run: "click",
        },
        {
            content: "Told that the held entries were applied",
            trigger: ".o_notification:contains(linked to Samuel)",
        },
        {
            content: "The wizard closed and Sam's entries are no longer held back",
            trigger:
                "body:not(:has(.modal)) .o_list_renderer:not(:has(td:contains(Sam Stranger)))",
        },
    ],
});

registry.category("web_tour.tours").add("jibble_connector_field_mapping_tour", {
    steps: () => [
        {
            content: "Open the field mapping from the Jibble settings",
            trigger: "#jibble_field_mapping button:contains(Field mapping)",
            run: "click",
        },
        {
            content: "Add a mapping",
            trigger: ".o_list_view .o_list_button_add",
            run: "click",
        },
        {
            content: "Take the value at clock-in",
            trigger: ".o_selected_row div[name=moment] select",
            run: "selectByLabel Clock-in",
        },
        {
            content: "Take Jibble's note",
            trigger: ".o_selected_row div[name=jibble_field] select",
            run: "selectByLabel Note",
        },
        {
            content: "Look for the custom attendance field",
            trigger: ".o_selected_row div[name=attendance_field_id] input",
            run: "edit Tour note",
        },
        {
            content: "Pick it",
            trigger:
                ".o_selected_row div[name=attendance_field_id] .ui-menu-item a:contains(Tour note)",
            run: "click",
        },
        {
            content: "Save the mapping",
            trigger: ".o_list_button_save",
            run: "click",
        },
        {
            content: "The mapping is saved: a row of its own, no longer edited",
            trigger:
                ".o_list_renderer:not(:has(.o_selected_row)) " +
                ".o_data_row:has(td[name=jibble_field]:contains(Note)) " +
                "td[name=attendance_field_id]:contains(Tour note)",
        },
        {
            content: "Add a second mapping",
            trigger: ".o_list_view .o_list_button_add",
            run: "click",
        },
        {
            content: "Take the 'Manual' flag",
            trigger: ".o_selected_row div[name=jibble_field] select",
            run: "selectByLabel Manual",
        },
        {
            content: "Look for the same text field",
            trigger: ".o_selected_row div[name=attendance_field_id] input",
            run: "edit Tour note",
        },
        {
            content: "Pick it",
            trigger:
                ".o_selected_row div[name=attendance_field_id] .ui-menu-item a:contains(Tour note)",
            run: "click",
        },
        {
            content: "Try to save it",
            trigger: ".o_list_button_save",
            run: "click",
        },
        {
            content: "Refused: a flag needs a boolean field, not a text one",
            trigger:
                ".o_error_dialog:contains(Validation Error):contains(is a char field)" +
                ":contains(needs a field of type boolean)",
        },
        {
            content: "Close the message",
            trigger: ".o_error_dialog .o-default-button",
            run: "click",
        },
        {
            content: "Discard the refused row",
            trigger: ".o_list_button_discard",
            run: "click",
        },
        {
            content: "Only the first mapping is left",
            trigger:
                "body:not(:has(.modal)) .o_list_renderer:not(:has(.o_selected_row))" +
                ":not(:has(.o_data_row ~ .o_data_row)) " +
                ".o_data_row td[name=jibble_field]:contains(Note)",
        },
    ],
});

registry.category("web_tour.tours").add("jibble_connector_neutralized_banner_tour", {
    steps: () => [
        {
            content: "The Jibble settings say that this database is a neutralized copy",
            trigger: "#jibble_sync",
        },
        {
            content: "The banner is shown",
            trigger: ".o_jibble_neutralized:contains(neutralized copy)",
        },
    ],
});

registry.category("web_tour.tours").add("jibble_connector_no_neutralized_banner_tour", {
    steps: () => [
        {
            content: "The Jibble settings are shown, without the neutralized-copy banner",
            trigger: ".o_form_view:not(:has(.o_jibble_neutralized)) #jibble_sync",
        },
    ],
});
