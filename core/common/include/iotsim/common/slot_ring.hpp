#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <utility>

#include "iotsim/common/assert.hpp"

namespace iotsim {

/// A FIFO ring whose slots outlive the elements put in them: push_back() hands out a slot as the
/// element before left it (its strings keep their capacity), so steady traffic through the ring
/// allocates nothing. The caller sets every field it uses. The first `Inline` slots are inside
/// the ring itself, so a queue that rarely holds more than that costs no allocation and no
/// pointer to follow. A fuller one moves to a heap array that doubles when full, and goes back
/// inline once it drains after holding more than `ShrinkAbove` (a burst's backlog is not kept).
///
/// Elements stay in push order; erase() keeps the order of the rest. `Inline` and every capacity
/// are powers of two.
template <class T, std::uint32_t Inline, std::uint32_t ShrinkAbove = 64>
class SlotRing {
    static_assert(Inline > 0 && (Inline & (Inline - 1)) == 0);
    static_assert(ShrinkAbove >= Inline);

public:
    SlotRing() = default;
    /// A moved-from ring is empty and inline again (usable, as after construction).
    SlotRing(SlotRing&& other) noexcept
        : capacity_(other.capacity_),
          head_(other.head_),
          count_(other.count_),
          heap_(std::move(other.heap_)),
          inline_(std::move(other.inline_)) {
        other.reset();
    }
    SlotRing& operator=(SlotRing&& other) noexcept {
        if (this != &other) {
            capacity_ = other.capacity_;
            head_ = other.head_;
            count_ = other.count_;
            heap_ = std::move(other.heap_);
            inline_ = std::move(other.inline_);
            other.reset();
        }
        return *this;
    }
    SlotRing(const SlotRing&) = delete;
    SlotRing& operator=(const SlotRing&) = delete;
    ~SlotRing() = default;

    [[nodiscard]] bool empty() const { return count_ == 0; }
    [[nodiscard]] std::uint32_t size() const { return count_; }

    /// The `i`-th element from the front.
    T& operator[](std::uint32_t i) {
        IOTSIM_ASSERT(i < count_);
        return base()[(head_ + i) & (capacity_ - 1)];
    }
    const T& operator[](std::uint32_t i) const {
        IOTSIM_ASSERT(i < count_);
        return base()[(head_ + i) & (capacity_ - 1)];
    }
    T& front() { return (*this)[0]; }
    [[nodiscard]] const T& front() const { return (*this)[0]; }

    /// A new last element: the slot as its previous element left it.
    T& push_back() {
        if (count_ == capacity_) {
            grow();
        }
        T& slot = base()[(head_ + count_) & (capacity_ - 1)];
        ++count_;
        return slot;
    }

    /// Removes the first element; its slot keeps what it holds for a later push_back().
    void pop_front() {
        IOTSIM_ASSERT(count_ > 0);
        head_ = (head_ + 1) & (capacity_ - 1);
        --count_;
        if (count_ == 0 && capacity_ > ShrinkAbove) {
            go_inline();
        }
    }

    /// Removes the `i`-th element: those before it move one place back (swapped, so its slot's
    /// contents end up at the front and are recycled as by pop_front()).
    void erase(std::uint32_t i) {
        IOTSIM_ASSERT(i < count_);
        for (; i > 0; --i) {
            using std::swap;
            swap((*this)[i], (*this)[i - 1]);
        }
        pop_front();
    }

    /// Calls `f` on every slot that holds no element (to release what they keep).
    template <class F>
    void for_each_vacant(F&& f) {
        for (std::uint32_t i = count_; i < capacity_; ++i) {
            f(base()[(head_ + i) & (capacity_ - 1)]);
        }
    }

    /// Back to the inline slots if nothing is queued and the heap array is in use.
    void shrink_if_empty() {
        if (count_ == 0 && heap_) {
            go_inline();
        }
    }

private:
    void go_inline() {
        heap_.reset();
        capacity_ = Inline;
        head_ = 0;
    }
    void reset() {
        go_inline();
        count_ = 0;
    }

    T* base() { return heap_ ? heap_.get() : inline_.data(); }
    [[nodiscard]] const T* base() const { return heap_ ? heap_.get() : inline_.data(); }

    void grow() {
        const std::uint32_t bigger = capacity_ * 2;
        auto heap = std::make_unique<T[]>(bigger);
        T* old = base();
        for (std::uint32_t i = 0; i < capacity_; ++i) {
            heap[i] = std::move(old[(head_ + i) & (capacity_ - 1)]);  // in order, buffers and all
        }
        heap_ = std::move(heap);
        capacity_ = bigger;
        head_ = 0;
    }

    std::uint32_t capacity_ = Inline;
    std::uint32_t head_ = 0;
    std::uint32_t count_ = 0;
    std::unique_ptr<T[]> heap_;  // when set, every element is there
    std::array<T, Inline> inline_;
};

}  // namespace iotsim
