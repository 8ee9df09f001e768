// SPDX-License-Identifier: GPL-2.0
/*
 * Hermit backend registry.
 *
 * Backends register by name; the ``hermit.backend`` knob selects one. A swap
 * area binds to the selected backend at its first store, or (with
 * chunk_ahead) as soon as Hermit is enabled or a backend is selected while
 * it is, and stays bound (and keeps the backend's module pinned) until
 * swapoff, so a backend never goes away while it holds pages: its module
 * cannot be unloaded, and hermit_unregister_backend() refuses with -EBUSY.
 */

#define pr_fmt(fmt) "hermit: " fmt

#include <linux/ctype.h>
#include <linux/errno.h>
#include <linux/module.h>
#include <linux/string.h>

#include "internal.h"

#define HERMIT_BACKEND_NAME_MAX	16

static LIST_HEAD(hermit_backends);
/* Protects hermit_backends, the users counts and hermit_selected. */
static DEFINE_MUTEX(hermit_backends_lock);
static char hermit_selected[HERMIT_BACKEND_NAME_MAX] = "dram";

bool hermit_backend_name_valid(const char *name)
{
	size_t i, len = name ? strlen(name) : 0;

	if (!len || len >= HERMIT_BACKEND_NAME_MAX)
		return false;
	for (i = 0; i < len; i++) {
		if (!islower(name[i]) && !isdigit(name[i]) &&
		    name[i] != '_' && name[i] != '-')
			return false;
	}
	return true;
}

static struct hermit_backend *hermit_backend_find(const char *name)
{
	struct hermit_backend *b;

	lockdep_assert_held(&hermit_backends_lock);
	list_for_each_entry(b, &hermit_backends, list) {
		if (!strcmp(b->name, name))
			return b;
	}
	return NULL;
}

/**
 * hermit_register_backend() - make a backend available to Hermit
 * @backend: The backend; @name, @owner and every op must be set.
 *
 * Return: 0, -EINVAL for a bad name or missing op, -EEXIST when a backend
 * of that name is registered already.
 */
int hermit_register_backend(struct hermit_backend *backend)
{
	const struct hermit_backend_ops *ops = backend->ops;
	int err = 0;

	if (!hermit_backend_name_valid(backend->name) || !ops ||
	    !ops->chunk_alloc || !ops->chunk_free || !ops->store ||
	    !ops->load || !ops->invalidate)
		return -EINVAL;

	mutex_lock(&hermit_backends_lock);
	if (hermit_backend_find(backend->name)) {
		err = -EEXIST;
	} else {
		backend->users = 0;
		list_add_tail(&backend->list, &hermit_backends);
	}
	mutex_unlock(&hermit_backends_lock);
	if (!err)
		pr_info("backend %s registered\n", backend->name);
	return err;
}
EXPORT_SYMBOL_GPL(hermit_register_backend);

/**
 * hermit_unregister_backend() - withdraw a backend
 * @backend: A registered backend.
 *
 * Return: 0, -EBUSY while a swap area is bound to it (its pages are only
 * there: swapoff first), -ENOENT when it is not registered.
 */
int hermit_unregister_backend(struct hermit_backend *backend)
{
	int err = 0;

	mutex_lock(&hermit_backends_lock);
	if (hermit_backend_find(backend->name) != backend)
		err = -ENOENT;
	else if (backend->users)
		err = -EBUSY;
	else
		list_del(&backend->list);
	mutex_unlock(&hermit_backends_lock);
	if (!err)
		pr_info("backend %s unregistered\n", backend->name);
	return err;
}
EXPORT_SYMBOL_GPL(hermit_unregister_backend);

/*
 * The selected backend with a user and a module reference taken, or NULL
 * when it is not registered (or its module is going away).
 */
struct hermit_backend *hermit_backend_bind(void)
{
	struct hermit_backend *b;

	mutex_lock(&hermit_backends_lock);
	b = hermit_backend_find(hermit_selected);
	if (b && try_module_get(b->owner))
		b->users++;
	else
		b = NULL;
	mutex_unlock(&hermit_backends_lock);
	return b;
}

void hermit_backend_unbind(struct hermit_backend *backend)
{
	mutex_lock(&hermit_backends_lock);
	backend->users--;
	mutex_unlock(&hermit_backends_lock);
	module_put(backend->owner);
}

/*
 * Select the backend new swap areas bind to. On the kernel command line
 * backends have not registered yet, so only the name's form is checked
 * there (@must_exist false).
 */
int hermit_backend_select(const char *name, bool must_exist)
{
	int err = 0;

	if (!hermit_backend_name_valid(name))
		return -EINVAL;
	mutex_lock(&hermit_backends_lock);
	if (must_exist && !hermit_backend_find(name))
		err = -EINVAL;
	else
		strscpy(hermit_selected, name, sizeof(hermit_selected));
	mutex_unlock(&hermit_backends_lock);
	return err;
}

void hermit_backend_selected(char *buf, size_t size)
{
	mutex_lock(&hermit_backends_lock);
	strscpy(buf, hermit_selected, size);
	mutex_unlock(&hermit_backends_lock);
}
