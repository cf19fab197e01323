/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of waitlist: arrival order, removal from either list (a
 * callback cancelling another waiter), waiting again during a delivery,
 * nested deliveries, teardown.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "waitlist.h"

struct waiter {
	int id;
	struct wait_link link;
};

static int
next_id(struct waitlist *l)
{
	struct wait_link *w = waitlist_next(l);

	return w ? waitlist_entry(w, struct waiter, link)->id : -1;
}

static void
test_arrival_order(void **state)
{
	struct waitlist l;
	struct waiter w[3] = {{.id = 0}, {.id = 1}, {.id = 2}};

	waitlist_init(&l);
	assert_true(waitlist_empty(&l));
	for (int i = 0; i < 3; i++)
		waitlist_add(&l, &w[i].link);
	assert_false(waitlist_empty(&l));
	waitlist_deliver(&l);
	assert_int_equal(next_id(&l), 0);
	assert_int_equal(next_id(&l), 1);
	assert_int_equal(next_id(&l), 2);
	assert_int_equal(next_id(&l), -1);
	assert_true(waitlist_empty(&l));
}

static void
test_remove_keeps_the_tail(void **state)
{
	struct waitlist l;
	struct waiter w[3] = {{.id = 0}, {.id = 1}, {.id = 2}};

	waitlist_init(&l);
	waitlist_add(&l, &w[0].link);
	waitlist_add(&l, &w[1].link);
	/* the last one goes: adding after it must still work */
	assert_true(waitlist_remove(&l, &w[1].link));
	assert_false(waitlist_remove(&l, &w[1].link));
	waitlist_add(&l, &w[2].link);
	waitlist_deliver(&l);
	assert_int_equal(next_id(&l), 0);
	assert_int_equal(next_id(&l), 2);
	assert_int_equal(next_id(&l), -1);
	/* the only one goes */
	waitlist_add(&l, &w[0].link);
	assert_true(waitlist_remove(&l, &w[0].link));
	assert_true(waitlist_empty(&l));
	waitlist_add(&l, &w[1].link);
	waitlist_deliver(&l);
	assert_int_equal(next_id(&l), 1);
	assert_int_equal(next_id(&l), -1);
}

/* While waiter 0 is told, it cancels waiter 2 and waits again (waiter 3):
 * 2 is never told, 3 is not part of this delivery. */
static void
test_cancel_and_wait_again_during_delivery(void **state)
{
	struct waitlist l;
	struct waiter w[4] = {{.id = 0}, {.id = 1}, {.id = 2}, {.id = 3}};

	waitlist_init(&l);
	for (int i = 0; i < 3; i++)
		waitlist_add(&l, &w[i].link);
	waitlist_deliver(&l);
	assert_int_equal(next_id(&l), 0);
	assert_true(waitlist_remove(&l, &w[2].link));
	waitlist_add(&l, &w[3].link);
	assert_int_equal(next_id(&l), 1);
	assert_int_equal(next_id(&l), -1);
	assert_false(waitlist_empty(&l));
	waitlist_deliver(&l);
	assert_int_equal(next_id(&l), 3);
	assert_int_equal(next_id(&l), -1);
	assert_true(waitlist_empty(&l));
}

/* A delivery started from a callback takes over the rest of the outer one:
 * each waiter is told once. */
static void
test_nested_delivery(void **state)
{
	struct waitlist l;
	struct waiter w[4] = {{.id = 0}, {.id = 1}, {.id = 2}, {.id = 3}};

	waitlist_init(&l);
	for (int i = 0; i < 3; i++)
		waitlist_add(&l, &w[i].link);
	waitlist_deliver(&l);
	assert_int_equal(next_id(&l), 0);
	waitlist_add(&l, &w[3].link);
	waitlist_deliver(&l); /* nested */
	assert_int_equal(next_id(&l), 1);
	assert_int_equal(next_id(&l), 2);
	assert_int_equal(next_id(&l), 3);
	assert_int_equal(next_id(&l), -1);
	/* the outer loop finds nothing left */
	assert_int_equal(next_id(&l), -1);
	assert_true(waitlist_empty(&l));
}

static void
test_pop_drains_both(void **state)
{
	struct waitlist l;
	struct waiter w[3] = {{.id = 0}, {.id = 1}, {.id = 2}};
	int seen = 0;

	waitlist_init(&l);
	waitlist_add(&l, &w[0].link);
	waitlist_add(&l, &w[1].link);
	waitlist_deliver(&l);
	waitlist_add(&l, &w[2].link);
	for (struct wait_link *x; (x = waitlist_pop(&l));)
		seen |= 1 << waitlist_entry(x, struct waiter, link)->id;
	assert_int_equal(seen, 7);
	assert_true(waitlist_empty(&l));
	/* usable again after draining */
	waitlist_add(&l, &w[0].link);
	waitlist_deliver(&l);
	assert_int_equal(next_id(&l), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_arrival_order),
		cmocka_unit_test(test_remove_keeps_the_tail),
		cmocka_unit_test(test_cancel_and_wait_again_during_delivery),
		cmocka_unit_test(test_nested_delivery),
		cmocka_unit_test(test_pop_drains_both),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
