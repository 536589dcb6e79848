/*
 * libh2: umbrella header. Includes every public header of the library.
 */
#ifndef H2_H
#define H2_H

#include "h2/common.h"
#include "h2/version.h"
#include "h2/errors.h"
#include "h2/hpack.h"
#include "h2/conn_config.h"
#include "h2/conn_limits.h"
#include "h2/conn.h"
#include "h2/priority.h"

#endif /* H2_H */
