/* STUB: to be implemented (see driver.h for the file map) */
#include "driver.h"
