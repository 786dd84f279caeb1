#define BOOST_TEST_MODULE shadow
#include <boost/test/unit_test.hpp>
