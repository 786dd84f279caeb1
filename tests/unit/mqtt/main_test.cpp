#define BOOST_TEST_MODULE mqtt_codec
#include <boost/test/unit_test.hpp>
