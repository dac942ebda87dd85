/* STUB: model-mode execution, to be implemented */
#include "../driver/driver.h"
