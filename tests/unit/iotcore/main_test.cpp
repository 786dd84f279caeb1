#define BOOST_TEST_MODULE iotcore
#include <boost/test/unit_test.hpp>
