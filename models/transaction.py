"""The connector's transaction policy, written once.

A unit of work is one pull batch, one webhook event (or a batch of them in the inbox cron), one
retry of held entries or one linking of people. Each unit:

1. reads what it needs from Jibble first, while it holds no person lock, so that a slow Jibble
   never holds up a webhook or another person's pull;
2. commits what came before it (the stored webhook event, the pull's position) and runs the
   rest of its transaction in READ COMMITTED;
3. takes the advisory lock of every Jibble person it may change, all in one statement, in
   sorted order, in the connector's own key space. A unit asks for its people once, so two
   units never wait on each other in a cycle; the locks end with the unit's commit;
4. drops the ORM cache: from then on it reads what the previous holder of those locks
   committed, not a snapshot from before it waited.

The commit that ends a unit is the caller's: Odoo's cron runner after a pull batch, the HTTP
request after a webhook, `commit_unit` between two units of one cron run. Inside a test the
single test transaction is kept: steps 2 and the commits are skipped, the locks and the cache
drop still happen.
"""

import zlib

from odoo.modules import module as odoo_module

from .ir_cron import cron_turn

# First key of every advisory lock the connector takes ("JIBP", "JIBR" in ASCII).
PERSON_LOCKS = 0x4A494250
RUN_LOCKS = 0x4A494252
PULL_RUN = 1


def in_test():
    return bool(odoo_module.current_test)


def person_key(person_id):
    """A stable 32-bit key for a Jibble person id (PostgreSQL's int4)."""
    key = zlib.crc32(person_id.encode())
    return key - 2**32 if key >= 2**31 else key


def start_unit(env, person_ids, commit=True, run_lock=False):
    """Steps 2 to 4 above: commit, READ COMMITTED, lock the people, drop the cache.

    `commit=False` is for buttons: the user's request commits, and Odoo retries it when
    PostgreSQL reports a serialization failure. With `run_lock` the pull's lock is taken
    again after the commit (it ended with it); returns False, locking nobody, when another
    pull took it meanwhile.
    """
    cr = env.cr
    if commit and not in_test():
        # What this commit saves is safe to lose in a crash (a sender retries an event that
        # got no answer; a pull reads its window again), so it need not wait for the disk:
        # the commit that ends the unit does.
        cr.execute("SET LOCAL synchronous_commit TO OFF")
        # The commit is the point of this function: see the module docstring.
        cr.commit()  # pylint: disable=invalid-commit
        cr.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
    if run_lock and not try_run_lock(env):
        return False
    lock_people(env, person_ids)
    return True


def lock_people(env, person_ids):
    """Step 3 and 4: the people's locks in one sorted statement, then a fresh cache."""
    keys = sorted({person_key(person_id) for person_id in person_ids if person_id})
    if keys:
        env.cr.execute(
            """
            SELECT pg_advisory_xact_lock(%s, ordered.key)
              FROM (SELECT key FROM unnest(%s::int[]) WITH ORDINALITY AS k(key, n)
                     ORDER BY n) AS ordered
            """,
            [PERSON_LOCKS, keys],
        )
    env.invalidate_all()


def commit_unit(env):
    """End a unit inside a cron run that goes on with another one."""
    if not in_test():
        env.cr.commit()  # pylint: disable=invalid-commit


def try_run_lock(env):
    """Two pulls never overlap: the lock ends with the transaction, so a pull takes it again
    after each commit of its own (see `start_unit`)."""
    env.cr.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [RUN_LOCKS, PULL_RUN])
    return env.cr.fetchone()[0]


def notify_progress(env, cron_xmlid, done, remaining, next_call_seconds=0):
    """Tell Odoo's cron runner how far a cron got. The runner calls a cron that reports work
    remaining ten times in a row, then leaves it ready until its workers next look for jobs
    (a minute); waking them now works a backlog through without a pause every ten units.

    A wake-up, not a trigger row: the job is still ready when the runner stops calling it, and
    a row would outlive a run that ends with nothing left (Odoo then removes only the rows
    older than the run's start) and start it again at once. A catch-up pull, whose every run
    reads its overlap again, ran back to back that way.

    Unless another call may not fit in the worker's time limit (models/ir_cron.py,
    `CronTurn`; the next call is expected to last as long as this one, or `next_call_seconds`):
    then the turn ends as if all were done, and a trigger row, which outlives the turn for the
    reason above, has the next turn go on at once, with the limit counted anew."""
    if not remaining:
        env["ir.cron"]._notify_progress(done=done, remaining=0)
    elif cron_turn.another_call_fits(next_call_seconds):
        env["ir.cron"]._notify_progress(done=done, remaining=remaining)
        env.ref(cron_xmlid)._jibble_wake_up()
    else:
        env["ir.cron"]._notify_progress(done=done, remaining=0)
        env.ref(cron_xmlid)._jibble_trigger_now()
