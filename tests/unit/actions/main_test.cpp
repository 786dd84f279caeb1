#define BOOST_TEST_MODULE actions
#include <boost/test/unit_test.hpp>
