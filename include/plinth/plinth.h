/*
 * plinth/plinth.h - everything the plinth library offers.
 *
 * The library never prints, never exits and reads no environment it was
 * not handed; errors come back as struct pl_error (see plinth/common.h).
 */
#ifndef PLINTH_PLINTH_H
#define PLINTH_PLINTH_H

#include "plinth/common.h"
#include "plinth/recipe.h"
#include "plinth/packages.h"
#include "plinth/build.h"
#include "plinth/sign.h"
#include "plinth/catalog.h"
#include "plinth/rebuild.h"
#include "plinth/check.h"
#include "plinth/sbom.h"
#include "plinth/test.h"
#include "plinth/registry.h"

#define PLINTH_VERSION "0.1.0"

#endif
